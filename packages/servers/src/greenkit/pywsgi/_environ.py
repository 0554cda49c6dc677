"""WSGI environ dictionaries: :class:`Environ` and the privacy-minded
:class:`SecureEnviron` (whose repr hides its values)."""

from __future__ import annotations

from typing import Any

__all__ = ["Environ", "SecureEnviron", "WSGISecureEnviron"]


class Environ(dict[str, Any]):
    """A ``dict`` for WSGI environs whose ``copy()`` keeps the class and that
    pickles (and copies through ``copy``/``pickle``) as a plain dict."""

    __slots__ = ()

    def copy(self) -> Environ:
        return type(self)(self)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (dict, (), None, None, iter(self.items()))


_UNSET: Any = object()


class SecureEnviron(Environ):
    """An :class:`Environ` whose ``repr``/``str`` do not show its contents,
    so that cookies and credentials do not end up in logs and tracebacks.

    Per instance (or through the class defaults ``default_secure_repr``,
    ``default_whitelist_keys``, ``default_print_masked_keys``):

    * ``secure_repr`` false: print as a dict;
    * ``whitelist_keys``: print as a dict whose other values are
      ``<MASKED>`` (or left out if ``print_masked_keys`` is false).
    """

    default_secure_repr = True
    default_whitelist_keys: tuple[str, ...] = ()
    default_print_masked_keys = True

    __slots__ = ("_secure_repr", "_whitelist_keys", "_print_masked_keys")

    def _setting(self, slot: str, default: str) -> Any:
        try:
            return object.__getattribute__(self, slot)
        except AttributeError:
            return getattr(type(self), default)

    def _clear(self, slot: str) -> None:
        try:
            object.__delattr__(self, slot)
        except AttributeError:
            pass

    @property
    def secure_repr(self) -> bool:
        return bool(self._setting("_secure_repr", "default_secure_repr"))

    @secure_repr.setter
    def secure_repr(self, value: bool) -> None:
        self._secure_repr = value

    @secure_repr.deleter
    def secure_repr(self) -> None:
        self._clear("_secure_repr")

    @property
    def whitelist_keys(self) -> Any:
        return self._setting("_whitelist_keys", "default_whitelist_keys")

    @whitelist_keys.setter
    def whitelist_keys(self, value: Any) -> None:
        self._whitelist_keys = value

    @whitelist_keys.deleter
    def whitelist_keys(self) -> None:
        self._clear("_whitelist_keys")

    @property
    def print_masked_keys(self) -> bool:
        return bool(self._setting("_print_masked_keys", "default_print_masked_keys"))

    @print_masked_keys.setter
    def print_masked_keys(self, value: bool) -> None:
        self._print_masked_keys = value

    @print_masked_keys.deleter
    def print_masked_keys(self) -> None:
        self._clear("_print_masked_keys")

    def __repr__(self) -> str:
        if not self.secure_repr:
            return dict.__repr__(self)
        whitelist = self.whitelist_keys
        if whitelist:
            shown = {}
            for key, value in self.items():
                if key in whitelist:
                    shown[key] = value
                elif self.print_masked_keys:
                    shown[key] = "<MASKED>"
            return repr(shown)
        return f"<pywsgi.{type(self).__name__} dict (keys: {len(self)}) at {id(self):#x}>"

    __str__ = __repr__


#: gevent's older name of :class:`SecureEnviron`.
WSGISecureEnviron = SecureEnviron

Environ.__module__ = SecureEnviron.__module__ = "greenkit.pywsgi"
