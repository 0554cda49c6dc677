"""The cooperative :class:`SSLContext` and the functions that build one.

Public through :mod:`greenkit.ssl`, which sets ``SSLContext.sslsocket_class``
to its :class:`~greenkit.ssl.SSLSocket` (this module does not import it, so
there is no cycle).
"""

from __future__ import annotations

import _ssl
import os as _os
import ssl as _stdlib_ssl
import sys as _sys
from collections.abc import Callable
from typing import Any

__all__ = ["SSLContext", "create_default_context", "_create_unverified_context"]

_CERT_NONE = _stdlib_ssl.CERT_NONE
_CERT_REQUIRED = _stdlib_ssl.CERT_REQUIRED
_Purpose = _stdlib_ssl.Purpose
_PROTOCOL_TLS_CLIENT = _stdlib_ssl.PROTOCOL_TLS_CLIENT
_PROTOCOL_TLS_SERVER = _stdlib_ssl.PROTOCOL_TLS_SERVER
_BaseContext: Any = _ssl._SSLContext


def _wrap_msg_callback(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The function ``SSLContext._msg_callback`` installs for ``callback``:
    it turns the raw numbers OpenSSL reports into the standard enums, as the
    standard setter does, and remembers ``callback`` for the getter."""
    std: Any = _stdlib_ssl  # the enums are private: typeshed does not list them
    tls_version = std.TLSVersion
    content_types = std._TLSContentType
    alert_types = std._TLSAlertType
    message_types = std._TLSMessageType

    def inner(
        conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes
    ) -> Any:
        try:
            version = tls_version(version)
        except ValueError:
            pass
        try:
            content_type = content_types(content_type)
        except ValueError:
            pass
        if content_type == content_types.HEADER:
            msg_enum: Any = content_types
        elif content_type == content_types.ALERT:
            msg_enum = alert_types
        else:
            msg_enum = message_types
        try:
            msg_type = msg_enum(msg_type)
        except ValueError:
            pass
        return callback(conn, direction, version, content_type, msg_type, data)

    inner.user_function = callback  # type: ignore[attr-defined]
    return inner


class SSLContext(_stdlib_ssl.SSLContext):
    """The standard :class:`ssl.SSLContext`, whose :meth:`wrap_socket` returns a
    cooperative :class:`SSLSocket` (``sslsocket_class``).

    ``wrap_bio`` is unchanged: memory BIOs never block.  The property setters
    below store through the C base class directly: the standard ones look
    ``SSLContext`` up in :mod:`ssl`'s globals, which after monkey patching is
    this class, and would recurse forever.
    """

    def _set_options(self, value: int) -> None:
        _BaseContext.options.__set__(self, value)

    def _set_verify_flags(self, value: int) -> None:
        _BaseContext.verify_flags.__set__(self, value)

    def _set_verify_mode(self, value: int) -> None:
        _BaseContext.verify_mode.__set__(self, value)

    def _set_minimum_version(self, value: Any) -> None:
        if value == _stdlib_ssl.TLSVersion.SSLv3:
            self.options &= ~_stdlib_ssl.Options.OP_NO_SSLv3
        _BaseContext.minimum_version.__set__(self, value)

    def _set_maximum_version(self, value: Any) -> None:
        _BaseContext.maximum_version.__set__(self, value)

    def _set_msg_callback(self, callback: Any) -> None:
        if callback is not None:
            if not callable(callback):
                raise TypeError(f"{callback} is not callable.")
            callback = _wrap_msg_callback(callback)
        _BaseContext._msg_callback.__set__(self, callback)

    _std: Any = _stdlib_ssl.SSLContext
    options = property(_std.options.fget, _set_options)
    verify_flags = property(_std.verify_flags.fget, _set_verify_flags)
    verify_mode = property(_std.verify_mode.fget, _set_verify_mode)
    minimum_version = property(_std.minimum_version.fget, _set_minimum_version)
    maximum_version = property(_std.maximum_version.fget, _set_maximum_version)
    _msg_callback = property(_std._msg_callback.fget, _set_msg_callback)
    del _std


def _legacy_context(
    server_side: bool,
    keyfile: str | None,
    certfile: str | None,
    cert_reqs: int,
    ssl_version: int,
    ca_certs: str | None,
    npn_protocols: Any,
    ciphers: str | None,
) -> SSLContext:
    """The context the old-style ``wrap_socket``/``SSLSocket`` arguments describe."""
    if server_side and not certfile:
        raise ValueError("certfile must be specified for server-side operations")
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    context = SSLContext(ssl_version)
    context.verify_mode = cert_reqs
    if ca_certs:
        context.load_verify_locations(ca_certs)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if npn_protocols:
        context.set_npn_protocols(npn_protocols)
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def _finish_context(
    context: SSLContext, purpose: Any, cafile: Any, capath: Any, cadata: Any
) -> SSLContext:
    """Load the CA certificates (the given ones, or the system's when the
    context verifies) and honour ``SSLKEYLOGFILE``, as the standard
    context factories do."""
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    elif context.verify_mode != _CERT_NONE:
        context.load_default_certs(purpose)
    keylogfile = _os.environ.get("SSLKEYLOGFILE")
    if keylogfile and not _sys.flags.ignore_environment:
        context.keylog_filename = keylogfile
    return context


def create_default_context(
    purpose: Any = _Purpose.SERVER_AUTH,
    *,
    cafile: Any = None,
    capath: Any = None,
    cadata: Any = None,
) -> SSLContext:
    """A cooperative :class:`SSLContext` with the standard secure defaults:
    certificate and host name checks for ``Purpose.SERVER_AUTH`` (clients),
    a server context for ``Purpose.CLIENT_AUTH``."""
    if not isinstance(purpose, _stdlib_ssl._ASN1Object):
        raise TypeError(purpose)
    if purpose == _Purpose.SERVER_AUTH:
        context = SSLContext(_PROTOCOL_TLS_CLIENT)
        context.verify_mode = _CERT_REQUIRED
        context.check_hostname = True
    elif purpose == _Purpose.CLIENT_AUTH:
        context = SSLContext(_PROTOCOL_TLS_SERVER)
    else:
        raise ValueError(purpose)
    if _sys.version_info >= (3, 13):
        # Python 3.13's defaults: stop chain building at the first trust
        # anchor, and refuse the certificates OpenSSL only tolerates.
        context.verify_flags |= _ssl.VERIFY_X509_PARTIAL_CHAIN | _ssl.VERIFY_X509_STRICT
    return _finish_context(context, purpose, cafile, capath, cadata)


def _create_unverified_context(
    protocol: int | None = None,
    *,
    cert_reqs: int = _CERT_NONE,
    check_hostname: bool = False,
    purpose: Any = _Purpose.SERVER_AUTH,
    certfile: Any = None,
    keyfile: Any = None,
    cafile: Any = None,
    capath: Any = None,
    cadata: Any = None,
) -> SSLContext:
    """The lenient cooperative context the standard library's modules use
    when given none (no certificate checks unless asked)."""
    if not isinstance(purpose, _stdlib_ssl._ASN1Object):
        raise TypeError(purpose)
    if purpose == _Purpose.SERVER_AUTH:
        if protocol is None:
            protocol = _PROTOCOL_TLS_CLIENT
    elif purpose == _Purpose.CLIENT_AUTH:
        if protocol is None:
            protocol = _PROTOCOL_TLS_SERVER
    else:
        raise ValueError(purpose)
    context = SSLContext(protocol)
    context.check_hostname = check_hostname
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    return _finish_context(context, purpose, cafile, capath, cadata)


SSLContext.__module__ = "greenkit.ssl"
create_default_context.__module__ = _create_unverified_context.__module__ = "greenkit.ssl"
