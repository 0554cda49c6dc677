"""``python -m greenkit.config``: print every setting and its environment variables."""

from greenkit import config

config.print_help()
