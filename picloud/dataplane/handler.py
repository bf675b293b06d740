"""The data plane's ASGI entry: app requests are answered here, everything else goes on.

``DataPlane`` wraps Litestar's ASGI handler. A request whose Host names an
app (on any path) or whose path starts with ``/a/{slug}`` (on any host) is
answered here; the rest (admin API, ``/healthz``, ``/readyz`` …) reaches
Litestar untouched. On the event loop a request does only I/O: one snapshot
query, route/auth/source reads on a cache miss, reading the body. Building
``ctx``, compiling, running the script and encoding the response happen on
a script-pool thread, so a runaway script never stalls the loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from picloud.dataplane.context import BadBody, build_ctx
from picloud.dataplane.response import (
    Reply,
    ResponseShapeError,
    error_reply,
    json_reply,
    reply_for_error,
    reply_for_value,
)
from picloud.dataplane.router import HostRouter, RouteTable
from picloud.dataplane.snapshot import AppSnapshot, SnapshotReader
from picloud.db import connect
from picloud.errors import Unauthorized
from picloud.execution.bridge import SdkBridge
from picloud.execution.cache import CompiledScript, LruCache
from picloud.execution.engine import build_engine
from picloud.execution.pool import PoolBusy, ScriptPool
from picloud.execution.reactor import ScriptReactor
from picloud.execution.resolver import AppModuleResolver, TrackedModule, module_shape_problem
from picloud.execution.run import ScriptRun, bind_run
from picloud.execution.sessions import ThreadSessions, script_sessions
from picloud.rhai import Scope
from picloud.rhai.errors import RhaiError

__all__ = ["DataPlane"]

log = logging.getLogger("picloud.dataplane")

#: Route tables kept per process (one per app, replaced when its routes change).
ROUTE_TABLE_CACHE_SIZE = 1024
#: Extra seconds the loop waits past the script budget before answering 504
#: itself (a host call stuck beyond the interpreter's own deadline check).
HARD_TIMEOUT_GRACE = 1.0
#: Where ``picloud.api.request_id`` keeps a request's id in the ASGI scope.
_RID_KEY = "picloud.request_id"
#: Seconds between forced GIL hand-offs (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005

#: Connection-level failures of Postgres (not query errors): 503, not 500.
_DB_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InvalidCatalogNameError,
)


@dataclass(slots=True)
class _Request:
    """What the loop hands the pool thread for one run."""

    scope: Any
    snap: AppSnapshot
    path: str
    params: dict[str, str]
    route: Any
    principal: Any
    compiled: CompiledScript | None
    record: Any
    body: bytes
    request_id: str


class DataPlane:
    """ASGI middleware that serves apps' routes in front of the admin API."""

    def __init__(self, app: Any, inner: Any, settings: Any) -> None:
        self.app = app
        self.inner = inner
        self.settings = settings
        self.router = HostRouter(settings.base_domain)
        self.scripts: LruCache[CompiledScript] = LruCache(settings.script_cache_size)
        self.modules: LruCache[TrackedModule] = LruCache(settings.module_cache_size)
        self.routes: LruCache[RouteTable] = LruCache(ROUTE_TABLE_CACHE_SIZE)
        self.resolver = AppModuleResolver(
            self.modules, settings.module_import_depth_max, module_shape_problem
        )
        from picloud.sdk import ScriptLogs

        #: The last ``log::`` lines per script, for the dashboard.
        self.script_logs = ScriptLogs()
        self.engine = build_engine(settings, self.resolver, self.script_logs)
        # Script runs query Postgres on connections of their own (no hop to this
        # loop per SDK call): greenlets sharing a reactor thread, or a thread each.
        self.sessions: ThreadSessions | ScriptReactor
        if settings.script_runner == "reactor":
            self.pool = self.sessions = ScriptReactor(
                settings.script_pool_size, lambda: connect(settings)
            )
        else:
            self.sessions = script_sessions(settings)
            self.pool = ScriptPool(settings.script_pool_size, on_exit=self.sessions.close_thread)
        self.snapshots = SnapshotReader(settings)
        self.timeout = settings.script_timeout_ms / 1000.0
        self.max_body = settings.max_request_body_bytes
        self._bridge: SdkBridge | None = None
        # A script spinning on a pool thread holds the GIL until the interpreter
        # forces a switch; a shorter interval bounds how long the event loop
        # (and so /healthz and every other request) waits for it.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        target = self.router.target(scope)
        if target is None:
            await self.inner(scope, receive, send)
            return
        # Realtime SSE (picloud/realtime/sse.py) streams instead of replying once.
        sse = self.app.state.get("realtime_sse")
        if sse is not None and sse.wants(target):
            if await sse.serve(scope, receive, send, target, self.snapshots):
                return
        try:
            reply = await self._handle(scope, receive, target)
        except _DB_ERRORS as exc:
            log.warning("data plane: database unavailable: %r", exc)
            reply = error_reply(503, "dependency_unavailable", "the database is unavailable")
        except _ClientGone:
            return
        except Exception:
            rid = request_id_of(scope)
            log.exception("data plane: unexpected error [request %s]", rid)
            reply = error_reply(500, "internal_error", "internal error", {"request_id": rid})
        if reply is None:
            await self.inner(scope, receive, send)
            return
        await _send(send, reply, scope["method"] == "HEAD")

    # ------------------------------------------------------------------ loop side

    async def _handle(self, scope: Any, receive: Any, target: Any) -> Reply | None:
        db = self.app.state.pool
        if db is None:
            return error_reply(503, "dependency_unavailable", "the database pool is not ready")
        try:
            snap = await self.snapshots.read(target)
        except Exception as exc:  # noqa: BLE001 - the fixed read failing means Postgres is down
            if target.host_slug is None and target.prefix_slug is None:
                # Maybe not an app request at all: let the admin API answer
                # (its health checks report the database themselves).
                return None
            log.warning("data plane: snapshot read failed: %r", exc)
            return error_reply(503, "dependency_unavailable", "the database is unavailable")
        if snap is None:
            if target.host_slug is None and target.prefix_slug is None:
                return None  # an unknown custom host: not an app request
            slug = target.host_slug or target.prefix_slug
            return error_reply(404, "app_not_found", f"no app {slug!r}", {"resource": "app"})
        path = target.prefix_path if snap.how == 3 else target.path
        method = scope["method"]
        auth = _authorization(scope)
        table = self.routes.get(snap.app_id, snap.routes_version)
        match = None if table is None else table.match(method, path)
        if table is not None and match is None:
            return _no_route(method, path)
        compiled = None
        if match is not None:
            version = snap.versions.get(match.route.script_id)
            if version is not None:
                compiled = self.scripts.get(match.route.script_id, version)
        record = None
        principal = None
        # The common case (cached routes and script, no credentials) needs no
        # pooled connection at all; anything else borrows one once.
        if table is None or compiled is None or auth is not None:
            async with db.acquire() as conn:
                if table is None:
                    table = await self._route_table(conn, snap)
                    match = table.match(method, path)
                if match is None:
                    return _no_route(method, path)
                if auth is not None:
                    principal, denied = await _principal(conn, auth)
                    if denied is not None:
                        return denied
                if compiled is None:
                    version = snap.versions.get(match.route.script_id)
                    if version is not None:
                        compiled = self.scripts.get(match.route.script_id, version)
                if compiled is None:
                    from picloud.services.scripts import get_script

                    record = await get_script(conn, match.route.script_id)
                    if record is None or record.app_id != snap.app_id:
                        return _no_route(method, path)
        if match is None:
            return _no_route(method, path)
        route = match.route
        body = await self._read_body(scope, receive)
        if body is None:
            return error_reply(413, "payload_too_large", "request body too large")
        if route.dispatch_mode == "async":
            return await self._enqueue(db, scope, snap, path, match.params, route, body, principal)
        req = _Request(
            scope=scope,
            snap=snap,
            path=path,
            params=match.params,
            route=route,
            principal=principal,
            compiled=compiled,
            record=record,
            body=body,
            request_id=_fast_request_id(scope),
        )
        bridge = self._bridge_for(db)
        try:
            return await self.pool.run(
                self._execute,
                req,
                bridge,
                wait=self.timeout,
                timeout=self.timeout + HARD_TIMEOUT_GRACE,
            )
        except PoolBusy:
            return error_reply(
                503, "script_pool_busy", "every script thread is busy; retry shortly"
            )
        except TimeoutError:
            return error_reply(504, "script_timeout", "the script ran past its time limit")

    async def _enqueue(
        self,
        db: Any,
        scope: Any,
        snap: AppSnapshot,
        path: str,
        params: dict[str, str],
        route: Any,
        body: bytes,
        principal: Any,
    ) -> Reply:
        """An ``async`` route: queue a job carrying ``ctx.request``, answer 202 ``{job_id}``."""
        from picloud.outbox.routes import enqueue_route_job

        try:
            ctx = build_ctx(
                scope,
                app_id=snap.app_id,
                app_slug=snap.slug,
                path=path,
                params=params,
                body=body,
                principal=principal,
            )
        except BadBody as exc:
            return error_reply(400, "invalid_json", str(exc))
        async with db.acquire() as conn:
            job_id = await enqueue_route_job(
                conn, snap.app_id, route.script_id, ctx["request"], principal=ctx["principal"]
            )
        return json_reply(202, {"job_id": job_id})

    async def _route_table(self, conn: Any, snap: AppSnapshot) -> RouteTable:
        table = self.routes.get(snap.app_id, snap.routes_version)
        if table is None:
            from picloud.services.scripts import list_routes_for_app

            table = RouteTable(await list_routes_for_app(conn, snap.app_id))
            self.routes.put(snap.app_id, snap.routes_version, table)
        return table

    async def _read_body(self, scope: Any, receive: Any) -> bytes | None:
        framed = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                framed = True
                try:
                    length = int(value)
                except ValueError:
                    break
                if length > self.max_body:
                    return None
                if length == 0:
                    return b""
            elif name == b"transfer-encoding":
                framed = True
        if not framed:
            # HTTP/1.1: without Content-Length or Transfer-Encoding there is no body,
            # so skip the round trip into the server.
            return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _bridge_for(self, db: Any) -> SdkBridge:
        loop = asyncio.get_running_loop()
        bridge = self._bridge
        if bridge is None or bridge.loop is not loop or bridge.pool is not db:
            bridge = self._bridge = SdkBridge(loop, db, sessions=self.sessions)
        return bridge

    # ------------------------------------------------------------------ pool thread

    def _execute(self, req: _Request, bridge: SdkBridge) -> Reply:
        """Build ``ctx``, compile if needed, run, and encode the response (on a pool thread)."""
        deadline = time.monotonic() + self.timeout
        snap: AppSnapshot = req.snap
        route = req.route
        compiled: CompiledScript | None = req.compiled
        name = compiled.name if compiled is not None else req.record.name
        try:
            ctx = build_ctx(
                req.scope,
                app_id=snap.app_id,
                app_slug=snap.slug,
                path=req.path,
                params=req.params,
                body=req.body,
                principal=req.principal,
            )
        except BadBody as exc:
            return error_reply(400, "invalid_json", str(exc))
        if compiled is None:
            rec = req.record
            try:
                ast = self.engine.compile(rec.source)
            except RhaiError as exc:
                return reply_for_error(exc, name)
            compiled = CompiledScript(rec.id, rec.app_id, rec.name, rec.version, ast)
            self.scripts.put(rec.id, rec.version, compiled)
        run = ScriptRun(
            app_id=snap.app_id,
            app_slug=snap.slug,
            script_id=route.script_id,
            script_name=name,
            request_id=req.request_id,
            principal=req.principal,
            modules=snap.modules,
            deadline=deadline,
            bridge=bridge,
            load_script=_loader(bridge),
        )
        scope = Scope()
        scope.push_constant("ctx", ctx)
        with bind_run(run), _sdk_context(run):
            try:
                value = self.engine.eval_ast(
                    compiled.ast, scope, timeout=max(run.remaining(), 0.001)
                )
            except RhaiError as exc:
                return reply_for_error(exc, name)
        try:
            return reply_for_value(value)
        except ResponseShapeError as exc:
            return error_reply(500, "script_error", f"invalid response: {exc}", {"script": name})
        except Exception:  # noqa: BLE001 - an unencodable value is the script's error
            return error_reply(
                500, "script_error", "the script's value cannot be sent as JSON", {"script": name}
            )

    async def aclose(self) -> None:
        """Stop taking runs and close the snapshot connection (app shutdown)."""
        self.pool.shutdown()
        await self.snapshots.close()


def request_id_of(scope: Any) -> str:
    """The request id (``picloud.api.request_id``; imported late: picloud.api imports us)."""
    from picloud.api.request_id import request_id_of as rid

    return rid(scope)


def _fast_request_id(scope: Any) -> str:
    """The request id, made without a system call when the client sent none.

    Same form as ``picloud.api.request_id`` (32 hex digits, stored in the scope
    so the response header matches); ids need uniqueness, not secrecy, and
    ``os.urandom`` (behind uuid4) releases the GIL to the script threads.
    """
    for name, _ in scope.get("headers", ()):
        if name == b"x-request-id":
            return request_id_of(scope)
    rid = scope.get(_RID_KEY)
    if rid is None:
        rid = scope[_RID_KEY] = f"{random.getrandbits(128):032x}"
    return str(rid)


def _authorization(scope: Any) -> str | None:
    """The ``Authorization: Bearer …`` header; other schemes are left to the script."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            header = bytes(value).decode("latin-1")
            return header if header.strip().lower().startswith("bearer") else None
    return None


async def _principal(conn: Any, header: str) -> tuple[Any, Reply | None]:
    """The caller the bearer token names, or a 401 reply."""
    from picloud.auth.principal import authenticate

    try:
        return await authenticate(conn, header), None
    except Unauthorized as exc:
        reply = error_reply(401, exc.code, exc.message)
        reply.headers.append((b"www-authenticate", b'Bearer realm="picloud"'))
        return None, reply


def _no_route(method: str, path: str) -> Reply:
    return error_reply(
        404, "route_not_found", f"no route for {method} {path}", {"resource": "route"}
    )


class _ClientGone(Exception):
    """The client disconnected before its body arrived."""


def _loader(bridge: SdkBridge) -> Any:
    def load(script_id: str) -> Any:
        from picloud.services.scripts import get_script

        return bridge.with_conn(lambda conn: get_script(conn, script_id))

    return load


def _sdk_context(run: ScriptRun) -> Any:
    """Bind the SDK's log context (app, script, request) when the SDK is installed."""
    import contextlib

    try:
        from picloud.sdk.context import SdkContext, use_context
    except ImportError:
        return contextlib.nullcontext()
    return use_context(
        SdkContext(
            app_id=run.app_id,
            app_slug=run.app_slug,
            script_id=run.script_id,
            script_name=run.script_name,
            request_id=run.request_id,
        )
    )


async def _send(send: Any, reply: Reply, head: bool) -> None:
    headers = [*reply.headers, (b"content-length", str(len(reply.body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else reply.body})
