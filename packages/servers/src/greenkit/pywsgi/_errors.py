"""The errors a client's request can raise while it is read, each carrying
the status of the response it gets (the connection is closed after it)."""

from __future__ import annotations

__all__ = [
    "HeadersTooLarge",
    "IncompleteBody",
    "InvalidClientInput",
    "InvalidClientRequest",
    "NotImplementedCoding",
    "UnsupportedVersion",
]


class InvalidClientRequest(ValueError):
    """The client sent something that is not HTTP: it gets a 400 response."""

    #: The status line of the response sent for this error.
    status = "400 Bad Request"


class InvalidClientInput(InvalidClientRequest):
    """The request body's framing is malformed (bad chunk size, trailer, ...)."""


class IncompleteBody(ConnectionError):
    """The connection ended inside a request body (an ``OSError``, as in
    gevent; a connection error, so the handler closes without a 500)."""


class HeadersTooLarge(InvalidClientRequest):
    """Too many header (or trailer) lines, or too many bytes of them."""

    status = "431 Request Header Fields Too Large"


class NotImplementedCoding(InvalidClientRequest):
    """A transfer coding other than chunked (RFC 9112 §6.1: 501)."""

    status = "501 Not Implemented"


class UnsupportedVersion(InvalidClientRequest):
    """An HTTP major version other than 1 (RFC 9110 §15.6.6: 505)."""

    status = "505 HTTP Version Not Supported"
