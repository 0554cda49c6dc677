"""``python -m greenkit.monkey [options] [--module] script|module [args]``.

See :func:`greenkit.monkey.main`.
"""

from greenkit.monkey import main

main()
