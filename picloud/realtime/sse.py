"""``GET /realtime/topics/{topic}`` (app by Host or ``/a/{slug}``): a topic as Server-Sent Events.

Admission: the topic must be registered and ``external_subscribable`` (else
404 ``topic_not_found``, so internal topics are indistinguishable from missing
ones); a ``token`` topic needs a valid subscriber token for it (``Authorization:
Bearer`` or ``?token=``, else 401 ``invalid_token``).

Exact resume: the stream registers on the process's feed *before* it reads the
log, replays every publish after ``Last-Event-ID`` (or ``?last_event_id=``)
from the log, then sends the live frames whose position is past the last one
sent. The feed delivers everything after its position at registration, which
the replay's later read already covers, so replay ∪ live has no gap, and the
position check removes the overlap. A resume more than
``PICLOUD_REALTIME_RESUME_MAX`` publishes behind gets ``event: reset`` (its id
is the current tail) instead of the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

import msgspec

from picloud.events.pubsub import pubsub_stream
from picloud.realtime import tokens
from picloud.realtime.broadcaster import PAGE, Broadcaster, Subscriber, read_frames, tail_position
from picloud.services.pubsub import TOPIC_PATTERN

__all__ = ["PREFIX", "RETRY_MS", "RealtimeEndpoint"]

log = logging.getLogger(__name__)

#: The app path of the endpoint; the topic name follows.
PREFIX = "/realtime/topics/"
#: The reconnection delay sent to clients (first frame, and when cut off as too slow).
RETRY_MS = 2000
#: How long a goodbye frame may take before the connection is simply dropped.
_GOODBYE_TIMEOUT = 0.5

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    # Tell reverse proxies (nginx) not to buffer the stream.
    (b"x-accel-buffering", b"no"),
    # Browsers subscribe from the app's own site, usually another origin.
    # EventSource sends no credentials (a token travels as ?token=), so any
    # origin may read the stream: the topic's auth_mode is the gate.
    (b"access-control-allow-origin", b"*"),
]


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, msgspec.json.encode({"error": {"code": code, "message": message}})


async def _send_error(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                # So a browser client can read why it was refused (404/401).
                (b"access-control-allow-origin", b"*"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class RealtimeEndpoint:
    """The SSE handler the data plane hands ``…/realtime/topics/{topic}`` requests to."""

    def __init__(self, hub: Broadcaster, settings: Any) -> None:
        self.hub = hub
        self.heartbeat = float(settings.realtime_heartbeat_sec)
        self.resume_max = int(settings.realtime_resume_max)

    @staticmethod
    def wants(target: Any) -> bool:
        """Cheap pre-check: could this request be for the endpoint (no I/O)?"""
        return bool(target.path.startswith(PREFIX) or (target.prefix_path or "").startswith(PREFIX))

    async def serve(self, scope: Any, receive: Any, send: Any, target: Any, snapshots: Any) -> bool:
        """Answer the request if it is an SSE request of an app; ``False`` to let routing go on."""
        try:
            snap = await snapshots.read(target)
        except Exception:  # noqa: BLE001 - the data plane reports the database itself
            return False
        if snap is None:
            return False
        path = target.prefix_path if snap.how == 3 else target.path
        if not path or not path.startswith(PREFIX):
            return False
        topic = path[len(PREFIX) :]
        if scope["method"] != "GET":
            await _send_error(send, *_error(405, "method_not_allowed", "use GET"))
            return True
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        after: int | None = None
        raw_after = _header(scope, b"last-event-id") or (query.get("last_event_id") or [None])[0]
        if raw_after not in (None, ""):
            if not raw_after.isdigit() or len(raw_after) > 18:
                await _send_error(
                    send,
                    *_error(400, "invalid_last_event_id", "Last-Event-ID must be a position"),
                )
                return True
            after = int(raw_after)
        pool = self.hub.pool
        async with pool.acquire() as conn:
            row = None
            if TOPIC_PATTERN.match(topic):
                row = await conn.fetchrow(
                    "SELECT external_subscribable, auth_mode FROM topics"
                    " WHERE app_id = $1::uuid AND name = $2",
                    snap.app_id,
                    topic,
                )
            if row is None or not row["external_subscribable"]:
                await _send_error(send, *_error(404, "topic_not_found", f"no topic {topic!r}"))
                return True
            has_token = False
            if row["auth_mode"] == "token":
                token = None
                auth = _header(scope, b"authorization")
                if auth is not None and auth[:7].lower() == "bearer ":
                    token = auth[7:].strip()
                token = token or (query.get("token") or [None])[0]
                if not await tokens.verify(conn, snap.app_id, token, topic):
                    await _send_error(
                        send,
                        *_error(
                            401,
                            "invalid_token",
                            "a valid subscriber token for this topic is required",
                        ),
                    )
                    return True
                has_token = True
        await self._stream(scope, receive, send, snap.app_id, topic, after, has_token)
        return True

    async def _stream(
        self,
        scope: Any,
        receive: Any,
        send: Any,
        app_id: str,
        topic: str,
        after: int | None,
        has_token: bool,
    ) -> None:
        stream = pubsub_stream(app_id, topic)
        # Registered before the log is read: see the module docstring.
        sub = await self.hub.subscribe(app_id, topic, stream, has_token)

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    sub.close("gone")
                    return

        watcher = asyncio.create_task(watch_disconnect())
        writer = asyncio.create_task(self._write(send, sub, stream, after))
        sub.task = writer
        try:
            await asyncio.wait({writer})
        finally:
            watcher.cancel()
            if not writer.done():
                writer.cancel()
            self.hub.unsubscribe(sub)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        if writer.cancelled() or sub.closed == "slow":
            # Cut off as too slow: a last retry hint if the socket takes it, then close.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    send(
                        {
                            "type": "http.response.body",
                            "body": b"retry: %d\n: too slow, resume from your last id\n\n"
                            % RETRY_MS,
                            "more_body": False,
                        }
                    ),
                    _GOODBYE_TIMEOUT,
                )
            return
        exc = writer.exception()
        if exc is not None and not isinstance(exc, OSError):
            log.warning("realtime: stream of %s ended by %r", topic, exc)
        if sub.closed != "gone":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    send({"type": "http.response.body", "body": b"", "more_body": False}),
                    _GOODBYE_TIMEOUT,
                )

    async def _write(self, send: Any, sub: Subscriber, stream: str, after: int | None) -> None:
        """Replay from the log after ``after``, then the live frames, with heartbeats."""

        async def out(body: bytes) -> None:
            await send({"type": "http.response.body", "body": body, "more_body": True})

        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await out(b"retry: %d\n: connected\n\n" % RETRY_MS)
        last = 0
        if after is not None:
            last = after
            pool = self.hub.pool
            async with pool.acquire() as conn:
                behind = await conn.fetchval(
                    "SELECT count(*) FROM (SELECT 1 FROM events WHERE stream = $1"
                    " AND type = 'pubsub.published' AND position > $2 LIMIT $3) AS b",
                    stream,
                    after,
                    self.resume_max + 1,
                )
                if behind > self.resume_max:
                    last = await tail_position(conn, stream)
                    await out(b'id: %d\nevent: reset\ndata: {"reason":"resume_too_old"}\n\n' % last)
            while sub.closed is None:
                async with pool.acquire() as conn:
                    items = await read_frames(conn, stream, last)
                for position, data in items:
                    await out(data)
                    last = position
                if len(items) == PAGE:
                    continue
                if sub.overflowed:
                    # Live frames were dropped while replaying: the log has them.
                    sub.overflowed = False
                    continue
                break
        sub.last = last
        sub.live = True
        while sub.closed is None:
            if sub.inflight is not None:
                # A direct write is waiting for the socket; nothing overtakes it.
                await sub.inflight
                sub.inflight = None
            if sub.overflowed:
                sub.close("slow")
                break
            if sub.queue:
                # Everything queued goes out as one write.
                parts = []
                while sub.queue:
                    position, data = sub.queue.popleft()
                    if position > sub.last:
                        parts.append(data)
                        sub.last = position
                if parts:
                    await out(b"".join(parts))
                continue
            if sub.beat:
                sub.beat = False
                await out(b": heartbeat\n\n")
                continue
            sub.ready.clear()
            # Idle: the feed may write to the socket directly until the writer wakes.
            sub.sender = out
            try:
                await sub.ready.wait()
            finally:
                sub.sender = None
