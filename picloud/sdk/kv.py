"""``kv::collection(name)``: a script's handle on one of its app's KV collections.

The SDK-binding pattern every platform namespace follows (docs::, files::…):

1. ``kv::collection(name)`` is a static-module function; it validates its
   argument and returns a small host object (``KvCollection``) registered
   with ``Engine.register_type`` so that ``type_of`` names it.
2. The handle's methods are registered with ``Engine.register_fn(...,
   method_only=True)`` and exact parameter types, each wrapped by
   ``_common.namespace`` (a Python error never leaks; arity errors read as
   Rhai's) and ``limit_sizes`` (results obey the engine's size limits).
3. A method takes everything about *who* runs from ``current_run()``: the
   app id (never from arguments or the handle), the principal for the
   capability check, the bridge to run the service coroutine on the event
   loop with a pooled connection (one transaction per call).
4. Service errors (``PicloudError``) become catchable Rhai errors whose value
   is ``"kv: <method>: <message> [<code>]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from picloud.auth.capabilities import AppKvRead, AppKvWrite
from picloud.execution.run import ScriptRun
from picloud.rhai.engine import Engine
from picloud.sdk._common import fail, limit_sizes, namespace, want_map
from picloud.sdk._service import bound_run, checked, script_meta, service_call
from picloud.sdk._values import from_stored, to_stored
from picloud.services import kv as service
from picloud.services.kv import KvLimits

__all__ = ["KvCollection", "install_kv"]

_P = "kv"


class KvCollection:
    """What ``kv::collection(name)`` returns: a collection name, nothing about the app."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"KvCollection({self.name!r})"


def _call(method: str, write: bool, op: Callable[[Any, ScriptRun], Any]) -> Any:
    """Run ``op(conn, run)`` on the loop after the capability check; errors become ``kv:``."""
    run = bound_run(_P, method)
    if write:
        return service_call(_P, method, run, AppKvWrite(run.app_id), "script:write", op)
    return service_call(_P, method, run, AppKvRead(run.app_id), "script:read", op)


def _checked(method: str, fn: Callable[[], Any]) -> Any:
    return checked(_P, method, fn)


def build_members(limits: KvLimits) -> tuple[dict[str, Callable[..., Any]], dict[str, Any]]:
    """``(kv:: functions, KvCollection methods)`` for ``limits``."""

    def collection(name: Any) -> KvCollection:
        """``kv::collection(name)``."""
        return KvCollection(_checked("collection", lambda: service.check_collection(name)))

    def key_of(method: str, key: Any) -> str:
        return _checked(method, lambda: service.check_key(key, limits))  # type: ignore[no-any-return]

    def get(c: KvCollection, key: Any) -> Any:
        """``c.get(key)``: the value, or ``()`` when absent."""
        k = key_of("get", key)
        found, value = _call(
            "get", False, lambda conn, run: service.get(conn, run.app_id, c.name, k)
        )
        return from_stored(value) if found else None

    def has(c: KvCollection, key: Any) -> bool:
        """``c.has(key)``."""
        k = key_of("has", key)
        return bool(_call("has", False, lambda conn, run: service.has(conn, run.app_id, c.name, k)))

    def set_(c: KvCollection, key: Any, value: Any) -> None:
        """``c.set(key, value)``."""
        k = key_of("set", key)
        data = _checked("set", lambda: service.encode_value(to_stored(value), limits))
        _call(
            "set",
            True,
            lambda conn, run: service.set_value(
                conn, script_meta(run), run.app_id, c.name, k, data
            ),
        )

    def delete(c: KvCollection, key: Any) -> bool:
        """``c.delete(key)``: whether the key was present."""
        k = key_of("delete", key)
        return bool(
            _call(
                "delete",
                True,
                lambda conn, run: service.delete(conn, script_meta(run), run.app_id, c.name, k),
            )
        )

    def list_(c: KvCollection, options: Any = None) -> dict[str, Any]:
        """``c.list(#{prefix?, limit?, cursor?})`` → ``#{items: [#{key, value}], cursor}``."""
        opts = {} if options is None else want_map(_P, "list", options, "an options map")
        unknown = sorted(set(opts) - {"prefix", "limit", "cursor"})
        if unknown:
            fail(_P, f"list: unknown option {unknown[0]!r} [kv_invalid_options]")
        cursor = opts.get("cursor")
        prefix = _checked("list", lambda: service.check_prefix(opts.get("prefix", ""), limits))
        if cursor is not None and not isinstance(cursor, str):
            fail(_P, "list: cursor must be a string or () [kv_invalid_options]")
        limit = _checked("list", lambda: service.check_limit(opts.get("limit")))
        page = _call(
            "list",
            False,
            lambda conn, run: service.list_entries(
                conn,
                run.app_id,
                c.name,
                prefix=prefix,
                limit=limit,
                cursor=None if cursor is None else str(cursor),
            ),
        )
        items = [{"key": e.key, "value": from_stored(e.value)} for e in page.items]
        return {"cursor": page.cursor, "items": items}

    functions = {"collection": collection}
    methods = {"get": get, "has": has, "set": set_, "delete": delete, "list": list_}
    return functions, methods


def install_kv(engine: Engine, limits: KvLimits | None = None) -> None:
    """Register ``kv::`` and the ``KvCollection`` type on ``engine``."""
    functions, methods = build_members(limits or KvLimits())
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    engine.register_type(KvCollection, "KvCollection")
    wrapped = limit_sizes(namespace(_P, methods), sizes)
    arities = {"get": 1, "has": 1, "set": 2, "delete": 1, "list": 1}
    for name, arity in arities.items():
        engine.register_fn(name, wrapped[name], (KvCollection,) + (None,) * arity, method_only=True)
    # list() without options, too.
    engine.register_fn("list", wrapped["list"], (KvCollection,), method_only=True)
    engine.register_static_module(_P, limit_sizes(namespace(_P, functions), sizes))
