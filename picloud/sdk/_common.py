"""Shared plumbing of the standard-library namespaces: errors, argument checks, wrapping.

Host functions of a static module are called by the interpreter as plain
``fn(*args)``: a ``RhaiError`` they raise reaches the script (catchable when it
is ``ErrorRuntime``), a ``TypeError`` is reported as "function not found", and
anything else would surface as an opaque ``ErrorSystem``. ``namespace`` wraps
every function so that only the first two can ever happen.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from picloud.rhai.errors import ErrorDataTooLarge, ErrorRuntime, RhaiError
from picloud.rhai.values import data_size, type_name

__all__ = [
    "SdkError",
    "fail",
    "limit_sizes",
    "namespace",
    "want_bool",
    "want_bytes",
    "want_int",
    "want_map",
    "want_str",
]

_log = logging.getLogger("picloud.sdk")


def SdkError(prefix: str, message: str) -> RhaiError:
    """A catchable Rhai error whose caught value is the string ``"<prefix>: <message>"``."""
    text = f"{prefix}: {message}"
    # ``value`` makes ``catch (e)`` receive the text itself, as a Rust host
    # function returning ``Err("...".into())`` does in Rhai.
    return ErrorRuntime(text, value=text)


def fail(prefix: str, message: str) -> NoReturn:
    """Raise ``SdkError(prefix, message)``."""
    raise SdkError(prefix, message)


def want_str(prefix: str, fn: str, value: Any, what: str = "a string") -> str:
    """``value`` as a ``str`` (chars included), or a typed error."""
    if isinstance(value, str):
        return str(value)
    fail(prefix, f"{fn} expects {what}, got {type_name(value)}")


def want_int(prefix: str, fn: str, value: Any, what: str = "an integer") -> int:
    """``value`` as an ``int`` (never a bool), or a typed error."""
    if type(value) is int:
        return value
    fail(prefix, f"{fn} expects {what}, got {type_name(value)}")


def want_bool(prefix: str, fn: str, value: Any, what: str = "a bool") -> bool:
    """``value`` as a ``bool``, or a typed error."""
    if type(value) is bool:
        return value
    fail(prefix, f"{fn} expects {what}, got {type_name(value)}")


def want_map(prefix: str, fn: str, value: Any, what: str = "a map") -> dict[str, Any]:
    """``value`` as an object map, or a typed error."""
    if type(value) is dict:
        return value
    fail(prefix, f"{fn} expects {what}, got {type_name(value)}")


def want_bytes(prefix: str, fn: str, value: Any) -> bytes:
    """A Blob's bytes, or a string's UTF-8 bytes; anything else is a typed error."""
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    fail(prefix, f"{fn} expects a blob or a string, got {type_name(value)}")


def _arity(fn: Callable[..., Any]) -> tuple[int, int]:
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    required = sum(1 for p in params if p.default is p.empty)
    return required, len(params)


def _wrap(prefix: str, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    lo, hi = _arity(fn)

    def call(*args: Any) -> Any:
        if not lo <= len(args) <= hi:
            # The interpreter turns a TypeError into ErrorFunctionNotFound naming
            # ``prefix::name`` and the argument types, as Rhai reports a bad arity.
            raise TypeError(name)
        try:
            return fn(*args)
        except RhaiError:
            raise
        except RecursionError:
            fail(prefix, f"{name}: value is nested too deeply")
        except Exception:  # noqa: BLE001 - no Python error may reach a script author
            _log.exception("stdlib %s::%s failed unexpectedly", prefix, name)
            fail(prefix, f"{name} failed")

    call.__name__ = f"{prefix}::{name}"
    call.__doc__ = fn.__doc__
    return call


def limit_sizes(
    members: Mapping[str, Callable[..., Any]], sizes: tuple[int, int, int]
) -> dict[str, Callable[..., Any]]:
    """Check results against the engine's ``(string, array, map)`` limits (0 = unlimited).

    The interpreter checks what native functions return, but not what a static
    module's host functions return, so a result that would be too large for the
    script to build itself is refused here, the way Rhai refuses it.
    """
    max_string, max_array, max_map = sizes
    if not any(sizes):
        return dict(members)

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            result = fn(*args)
            if type(result) in _SIZED:
                arrays, maps, chars = data_size(result)
                if max_string and chars > max_string:
                    raise ErrorDataTooLarge("Length of string too large", name="Length of string")
                if max_array and arrays > max_array:
                    raise ErrorDataTooLarge("Size of array too large", name="Size of array")
                if max_map and maps > max_map:
                    raise ErrorDataTooLarge(
                        "Size of object map too large", name="Size of object map"
                    )
            return result

        call.__name__ = getattr(fn, "__name__", "call")
        call.__doc__ = fn.__doc__
        return call

    return {name: wrap(fn) for name, fn in members.items()}


_SIZED = frozenset({str, list, dict, bytearray})


def namespace(
    prefix: str, functions: Mapping[str, Callable[..., Any]]
) -> dict[str, Callable[..., Any]]:
    """Wrap each function so arity errors read as Rhai's and Python errors never leak."""
    return {name: _wrap(prefix, name, fn) for name, fn in functions.items()}
