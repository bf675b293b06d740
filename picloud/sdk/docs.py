"""``docs::collection(name)``: a script's handle on one of its app's document collections.

Follows the binding pattern of ``picloud.sdk.kv``: the handle holds only the
collection name; every method takes the app, the caller and the bridge from
``current_run()``; each call is one transaction of its own (so a later call
of the same run reads what an earlier one wrote). Documents come back as the
envelope ``#{id, data, created_at, updated_at, version}`` with RFC 3339 UTC
timestamps (milliseconds, ``Z``), the format ``time::now()`` uses.

Missing documents are not errors: ``get``, ``find_one`` and ``update`` give
``()``, ``delete`` gives ``false``. Everything else that goes wrong throws a
catchable ``"docs: <method>: <message> [<code>]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from picloud.auth.capabilities import AppDocsRead, AppDocsWrite
from picloud.execution.run import ScriptRun
from picloud.rhai.engine import Engine
from picloud.sdk._common import fail, limit_sizes, namespace, want_map
from picloud.sdk._service import bound_run, checked, script_context, service_call
from picloud.sdk._values import from_stored, to_stored
from picloud.services import docs as service
from picloud.services.docs import DocRecord, DocsLimits

__all__ = ["DocsCollection", "envelope", "install_docs"]

_P = "docs"


class DocsCollection:
    """What ``docs::collection(name)`` returns: a collection name, nothing about the app."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"DocsCollection({self.name!r})"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(rec: DocRecord) -> dict[str, Any]:
    """The Rhai map a script sees for one document (keys in Rhai's sorted order)."""
    return {
        "created_at": _stamp(rec.created_at),
        "data": from_stored(rec.data),
        "id": rec.id,
        "updated_at": _stamp(rec.updated_at),
        "version": rec.version,
    }


def _call(method: str, write: bool, op: Callable[[Any, ScriptRun], Any]) -> Any:
    """Run ``op(conn, run)`` on the loop after the capability check; errors become ``docs:``."""
    run = bound_run(_P, method)
    if write:
        return service_call(_P, method, run, AppDocsWrite(run.app_id), "script:write", op)
    return service_call(_P, method, run, AppDocsRead(run.app_id), "script:read", op)


def _checked(method: str, fn: Callable[[], Any]) -> Any:
    return checked(_P, method, fn)


def _filter(method: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if type(value) is not dict:
        from picloud.rhai.values import type_name

        fail(_P, f"{method}: a filter must be a map, got {type_name(value)} [invalid_query]")
    return value


def build_members(limits: DocsLimits) -> tuple[dict[str, Callable[..., Any]], dict[str, Any]]:
    """``(docs:: functions, DocsCollection methods)`` for ``limits``."""

    def collection(name: Any) -> DocsCollection:
        """``docs::collection(name)``."""
        return DocsCollection(_checked("collection", lambda: service.check_collection(name)))

    def data_of(method: str, data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            from picloud.rhai.values import type_name

            got = type_name(data)
            fail(_P, f"{method}: a document must be a map, got {got} [invalid_document]")
        return _checked(method, lambda: to_stored(data))  # type: ignore[no-any-return]

    def create(c: DocsCollection, data: Any) -> dict[str, Any]:
        """``c.create(data)`` → the new document's envelope."""
        stored = data_of("create", data)
        rec = _call(
            "create",
            True,
            lambda conn, run: service.create_doc(
                conn, script_context(run), run.app_id, c.name, stored, limits
            ),
        )
        return envelope(rec)

    def get(c: DocsCollection, doc_id: Any) -> Any:
        """``c.get(id)`` → the envelope, or ``()``."""
        rec = _call(
            "get", False, lambda conn, run: service.get_doc(conn, run.app_id, c.name, doc_id)
        )
        return None if rec is None else envelope(rec)

    def find(c: DocsCollection, flt: Any = None) -> list[Any]:
        """``c.find(filter)`` → matching envelopes, in the filter's order."""
        f = _filter("find", flt)
        recs = _call(
            "find",
            False,
            lambda conn, run: service.find_docs(conn, run.app_id, c.name, f, limits, to_stored),
        )
        return [envelope(r) for r in recs]

    def find_one(c: DocsCollection, flt: Any = None) -> Any:
        """``c.find_one(filter)`` → the first match's envelope, or ``()``."""
        f = _filter("find_one", flt)
        recs = _call(
            "find_one",
            False,
            lambda conn, run: service.find_docs(
                conn, run.app_id, c.name, f, limits, to_stored, one=True
            ),
        )
        return envelope(recs[0]) if recs else None

    def update(c: DocsCollection, doc_id: Any, data: Any) -> Any:
        """``c.update(id, data)`` replaces the data → the new envelope, or ``()`` if missing."""
        stored = data_of("update", data)
        rec = _call(
            "update",
            True,
            lambda conn, run: service.update_doc(
                conn, script_context(run), run.app_id, c.name, doc_id, stored, limits
            ),
        )
        return None if rec is None else envelope(rec)

    def delete(c: DocsCollection, doc_id: Any) -> bool:
        """``c.delete(id)`` → whether the document was there."""
        return bool(
            _call(
                "delete",
                True,
                lambda conn, run: service.delete_doc(
                    conn, script_context(run), run.app_id, c.name, doc_id
                ),
            )
        )

    def list_(c: DocsCollection, options: Any = None) -> dict[str, Any]:
        """``c.list(#{limit?, cursor?})`` → ``#{items: [envelope], cursor}`` (``()`` at the end)."""
        opts = {} if options is None else want_map(_P, "list", options, "an options map")
        unknown = sorted(set(opts) - {"limit", "cursor"})
        if unknown:
            fail(_P, f"list: unknown option {unknown[0]!r} [docs_invalid_options]")
        page = _call(
            "list",
            False,
            lambda conn, run: service.list_docs(
                conn, run.app_id, c.name, opts.get("limit"), opts.get("cursor"), limits
            ),
        )
        return {"cursor": page.cursor, "items": [envelope(r) for r in page.items]}

    functions = {"collection": collection}
    methods = {
        "create": create,
        "get": get,
        "find": find,
        "find_one": find_one,
        "update": update,
        "delete": delete,
        "list": list_,
    }
    return functions, methods


def install_docs(engine: Engine, limits: DocsLimits | None = None) -> None:
    """Register ``docs::`` and the ``DocsCollection`` type on ``engine``."""
    functions, methods = build_members(limits or DocsLimits())
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    engine.register_type(DocsCollection, "DocsCollection")
    wrapped = limit_sizes(namespace(_P, methods), sizes)
    arities = {"create": 1, "get": 1, "find": 1, "find_one": 1, "update": 2, "delete": 1, "list": 1}
    for name, arity in arities.items():
        engine.register_fn(
            name, wrapped[name], (DocsCollection,) + (None,) * arity, method_only=True
        )
    # find(), find_one() and list() without an argument, too.
    for name in ("find", "find_one", "list"):
        engine.register_fn(name, wrapped[name], (DocsCollection,), method_only=True)
    engine.register_static_module(_P, limit_sizes(namespace(_P, functions), sizes))
