"""Cross-process fan-out of committed publishes over one Redis channel.

Receiving side (:class:`Broadcaster`, one per API process): one Redis
subscription; per subscribed topic a :class:`Feed` that, on each wake-up, reads
the topic's publishes after the last position it delivered from the log —
once, however many streams listen — and hands the encoded SSE frames to every
:class:`Subscriber`'s bounded buffer. Within an app, positions are assigned
under the app's append lock, so the committed publishes of a topic are always
a prefix in position order: "everything after my last position" never skips.
A subscriber whose buffer is full while live is cut off (it resumes from its
last id); a slow Redis or a lost announcement only delays delivery until the
next wake-up or the periodic poll.

The publishing side (:class:`Announcer`) PUBLISHes ``{"app_id", "topic",
"position"}`` on ``<namespace>:realtime`` after the publish committed. It is a
wake-up, not the data: subscribers read messages from the log by position, so
a lost or late announcement never loses a message. Announcing is best effort:
any Redis failure is logged and swallowed, because the publish is already
durable and must not be reported as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from typing import Any

import msgspec

__all__ = [
    "Announcement",
    "Announcer",
    "Broadcaster",
    "Feed",
    "Subscriber",
    "announce_topic_change",
    "channel_name",
    "read_frames",
]

log = logging.getLogger(__name__)


def channel_name(namespace: str) -> str:
    """The one Redis channel every API process subscribes to."""
    return f"{namespace}:realtime"


class Announcement(msgspec.Struct, frozen=True, omit_defaults=True):
    """A publish committed at ``position`` on ``topic`` of ``app_id`` (``kind`` ``publish``),
    the topic's registration changed (``topic``: streams re-check it), or the app's
    token key was rotated (``rotate``: token-admitted streams end)."""

    app_id: str
    topic: str
    position: int = 0
    kind: str = "publish"


_encoder = msgspec.json.Encoder()


class Announcer:
    """PUBLISHes announcements from a script thread with a thread-safe, loop-free Redis pool.

    Synchronous on purpose: it runs on the script's thread right after the
    bridge returned from the committed transaction, so it needs no event loop
    (and no per-loop client whose lifetime nobody owns).
    """

    def __init__(self, redis_url: str | None, namespace: str, timeout: float = 1.0) -> None:
        self.redis_url = redis_url
        self.channel = channel_name(namespace)
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> Announcer:
        """The process's announcer for the settings' Redis and namespace (one pool each)."""
        key = (settings.redis_url, settings.redis_namespace)
        with _shared_lock:
            found = _shared.get(key)
            if found is None:
                found = _shared[key] = cls(settings.redis_url, settings.redis_namespace)
        return found

    def _redis(self, url: str) -> Any:
        with self._lock:
            if self._client is None:
                from redis import Redis

                self._client = Redis.from_url(
                    url,
                    socket_connect_timeout=self.timeout,
                    socket_timeout=self.timeout,
                )
            return self._client

    def announce(self, app_id: str, topic: str, position: int) -> bool:
        """PUBLISH one announcement; ``False`` (logged, never raised) when Redis failed."""
        if self.redis_url is None:
            return False
        payload = _encoder.encode(Announcement(app_id, topic, position))
        try:
            self._redis(self.redis_url).publish(self.channel, payload)
        except Exception as exc:  # noqa: BLE001 - the publish committed; a broadcast failure is not its failure
            log.warning("realtime: announcing %s:%s@%d failed: %s", app_id, topic, position, exc)
            return False
        return True


async def announce_topic_change(
    redis: Any, namespace: str, app_id: str, topic: str, kind: str = "topic"
) -> bool:
    """From the loop: tell every API process that ``topic`` changed, or (``kind="rotate"``)
    that the app's token key was rotated (best effort)."""
    if redis is None:
        return False
    payload = _encoder.encode(Announcement(app_id, topic, kind=kind))
    try:
        await redis.publish(channel_name(namespace), payload)
    except Exception as exc:  # noqa: BLE001 - the change committed; subscribers re-check on resume
        log.warning("realtime: announcing a change of %s:%s failed: %s", app_id, topic, exc)
        return False
    return True


_shared: dict[tuple[str | None, str], Announcer] = {}
_shared_lock = threading.Lock()


# ---------------------------------------------------------------- receiving side

#: Publishes one log read fetches (a feed keeps reading while pages are full).
PAGE = 500

_FRAMES = (
    "SELECT position, jsonb_build_object('topic', data->'topic', 'message', data->'message',"
    " 'published_at', data->'published_at')::text AS data FROM events"
    " WHERE stream = $1 AND type = 'pubsub.published' AND position > $2"
    " ORDER BY position LIMIT $3"
)


def frame(position: int, data: str) -> bytes:
    """One SSE message: ``id: <position>`` and the JSON ``data`` line (jsonb text has no newline)."""
    return b"id: %d\ndata: %s\n\n" % (position, data.encode())


async def read_frames(
    conn: Any, stream: str, after: int, limit: int = PAGE
) -> list[tuple[int, bytes]]:
    """The topic's publishes after ``after`` as ``(position, frame)``, in position order."""
    rows = await conn.fetch(_FRAMES, stream, after, limit)
    return [(r["position"], frame(r["position"], r["data"])) for r in rows]


async def tail_position(conn: Any, stream: str) -> int:
    """The position of the topic's latest publish (0 when none)."""
    value = await conn.fetchval(
        "SELECT coalesce(max(position), 0) FROM events"
        " WHERE stream = $1 AND type = 'pubsub.published'",
        stream,
    )
    return int(value)


class Subscriber:
    """One SSE stream's bounded buffer of frames, filled by its feed, drained by its writer."""

    __slots__ = (
        "app_id",
        "beat",
        "capacity",
        "closed",
        "inflight",
        "last",
        "live",
        "overflowed",
        "queue",
        "ready",
        "sender",
        "task",
        "token",
        "topic",
    )

    def __init__(self, app_id: str, topic: str, capacity: int, token: bool) -> None:
        self.app_id = app_id
        self.topic = topic
        self.capacity = capacity
        #: Whether the stream was admitted with a subscriber token (re-checked on topic changes).
        self.token = token
        self.queue: deque[tuple[int, bytes]] = deque()
        self.ready = asyncio.Event()
        #: Replay is over: a full buffer now means the client cannot keep up.
        self.live = False
        #: A heartbeat comment is due (set by the broadcaster's one ticker).
        self.beat = False
        self.overflowed = False
        #: Why the stream must end (``slow``, ``topic``, ``shutdown``, ``gone``) or ``None``.
        self.closed: str | None = None
        #: The writer task, cancelled when it must stop while stuck in a send.
        self.task: asyncio.Task[Any] | None = None
        #: The last position sent (frames at or before it are duplicates).
        self.last = 0
        #: While the writer idles: writes one body chunk (the direct path, see :meth:`push`).
        self.sender: Any = None
        #: A direct write that had to wait for the socket; the writer waits for it.
        self.inflight: asyncio.Future[Any] | None = None

    def push(self, item: tuple[int, bytes]) -> None:
        """Queue a frame; a full buffer drops it and, once live, cuts the stream off."""
        if self.closed is not None:
            return
        if self.sender is not None and not self.queue:
            # The writer is idle: send from here, without waking its task
            # (a task switch per stream per message is the fan-out's main cost).
            position, data = item
            if position > self.last:
                self.last = position
                self._direct(data)
            return
        if len(self.queue) >= self.capacity:
            self.overflowed = True
            if self.live:
                self.close("slow")
                return
            # During replay the writer reads the log again for what was dropped.
            self.ready.set()
            return
        self.queue.append(item)
        self.ready.set()

    def _direct(self, data: bytes) -> None:
        """Run the send coroutine to its first suspension; a blocked rest goes to a task."""
        coro = self.sender(data)
        try:
            fut = coro.send(None)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - the client is gone; the writer ends the stream
            self.close("gone")
            return
        # The socket is full (flow control): finish in a task; queue until then.
        self.sender = None
        self.inflight = asyncio.ensure_future(_finish(coro, fut))
        self.inflight.add_done_callback(lambda _: self.ready.set())

    def heartbeat(self) -> None:
        """Ask the writer for a heartbeat comment (skipped while frames are queued anyway)."""
        if self.live and not self.queue:
            self.beat = True
            self.ready.set()

    def close(self, reason: str) -> None:
        """End the stream; a writer stuck sending to a stalled client is cancelled."""
        if self.closed is not None:
            return
        self.closed = reason
        self.ready.set()
        if reason == "slow":
            if self.task is not None:
                self.task.cancel()
            if self.inflight is not None:
                self.inflight.cancel()


async def _finish(coro: Any, fut: Any) -> None:
    """Drive a coroutine that was started by hand and suspended on ``fut`` to its end."""
    while True:
        try:
            result = await fut
        except BaseException as exc:  # noqa: BLE001 - handed to the coroutine, as await would
            try:
                fut = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            fut = coro.send(result)
        except StopIteration:
            return


class Feed:
    """One topic of one app in this process: its last delivered position and its subscribers."""

    __slots__ = ("app_id", "fetcher", "last", "pending", "stream", "subscribers", "topic")

    def __init__(self, app_id: str, topic: str, stream: str, last: int) -> None:
        self.app_id = app_id
        self.topic = topic
        self.stream = stream
        self.last = last
        self.subscribers: set[Subscriber] = set()
        self.fetcher: asyncio.Task[None] | None = None
        self.pending = False


class Broadcaster:
    """This process's Redis subscription and its in-process fan-out to SSE streams."""

    def __init__(
        self,
        pool: Any,
        redis_url: str | None,
        namespace: str,
        *,
        capacity: int = 64,
        poll_interval: float = 30.0,
        heartbeat_interval: float = 30.0,
    ) -> None:
        self.pool = pool
        self.redis_url = redis_url
        self.channel = channel_name(namespace)
        self.capacity = capacity
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.feeds: dict[tuple[str, str], Feed] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._stopping = False
        self._background: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(cls, settings: Any, pool: Any) -> Broadcaster:
        """A broadcaster for the settings' Redis, namespace, buffer size and heartbeat."""
        return cls(
            pool,
            settings.redis_url,
            settings.redis_namespace,
            capacity=settings.realtime_broadcast_capacity,
            poll_interval=float(settings.realtime_heartbeat_sec),
            heartbeat_interval=float(settings.realtime_heartbeat_sec),
        )

    async def start(self, wait: float = 2.0) -> None:
        """Start listening; waits (up to ``wait`` s) until the Redis subscription is active."""
        self._task = asyncio.create_task(self._listen(), name="picloud-realtime-broadcaster")
        self._spawn(self._tick())
        if self.redis_url is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), wait)

    async def stop(self) -> None:
        """Stop listening and end every stream."""
        self._stopping = True
        for feed in list(self.feeds.values()):
            for sub in list(feed.subscribers):
                sub.close("shutdown")
        tasks = [t for t in (self._task, *self._background) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------ subscriptions

    async def subscribe(self, app_id: str, topic: str, stream: str, token: bool) -> Subscriber:
        """Register a stream on the topic's feed (made, at the log's tail, on first use)."""
        sub = Subscriber(app_id, topic, self.capacity, token)
        key = (app_id, topic)
        feed = self.feeds.get(key)
        if feed is None:
            async with self.pool.acquire() as conn:
                last = await tail_position(conn, stream)
            # Another stream may have made the feed while this one read the tail.
            feed = self.feeds.get(key)
            if feed is None:
                feed = self.feeds[key] = Feed(app_id, topic, stream, last)
        feed.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Remove a stream; a feed without streams is dropped."""
        key = (sub.app_id, sub.topic)
        feed = self.feeds.get(key)
        if feed is None:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            del self.feeds[key]
            if feed.fetcher is not None:
                feed.fetcher.cancel()

    def subscriber_count(self) -> int:
        """Streams held by this process."""
        return sum(len(f.subscribers) for f in self.feeds.values())

    # ------------------------------------------------------------ wake-ups

    def wake(self, feed: Feed) -> None:
        """Read the feed's new publishes from the log (coalesced: one read at a time)."""
        if feed.fetcher is not None and not feed.fetcher.done():
            feed.pending = True
            return
        feed.pending = False
        feed.fetcher = asyncio.create_task(self._fetch(feed))

    async def _fetch(self, feed: Feed) -> None:
        # A page never exceeds a buffer, and every writer gets a turn between
        # pages: a burst of publishes is not mistaken for a slow client.
        page = max(1, min(PAGE, self.capacity))
        try:
            while True:
                feed.pending = False
                async with self.pool.acquire() as conn:
                    items = await read_frames(conn, feed.stream, feed.last, page)
                for item in items:
                    feed.last = item[0]
                    for sub in list(feed.subscribers):
                        sub.push(item)
                if len(items) < page and not feed.pending:
                    return
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the next wake-up or poll reads again
            log.warning("realtime: reading %s failed: %r", feed.stream, exc)

    def _wake_all(self) -> None:
        for feed in list(self.feeds.values()):
            self.wake(feed)

    def dispatch(self, raw: bytes) -> None:
        """Handle one announcement from Redis."""
        try:
            ann = msgspec.json.decode(raw, type=Announcement)
        except msgspec.DecodeError:
            log.warning("realtime: ignoring a malformed announcement %r", raw[:200])
            return
        if ann.kind == "rotate":
            # Every token of the app is void: end the streams admitted by one.
            for other in list(self.feeds.values()):
                if other.app_id == ann.app_id:
                    for sub in list(other.subscribers):
                        if sub.token:
                            sub.close("topic")
            return
        feed = self.feeds.get((ann.app_id, ann.topic))
        if feed is None:
            return
        if ann.kind == "topic":
            self._spawn(self._recheck(feed))
        else:
            self.wake(feed)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _recheck(self, feed: Feed) -> None:
        """The topic changed: end the streams it no longer admits."""
        try:
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT external_subscribable, auth_mode FROM topics"
                    " WHERE app_id = $1::uuid AND name = $2",
                    feed.app_id,
                    feed.topic,
                )
        except Exception as exc:  # noqa: BLE001 - keep streams rather than guess
            log.warning("realtime: re-checking %s failed: %r", feed.topic, exc)
            return
        closed = row is None or not row["external_subscribable"]
        needs_token = row is not None and row["auth_mode"] == "token"
        for sub in list(feed.subscribers):
            if closed or (needs_token and not sub.token):
                sub.close("topic")

    async def _tick(self) -> None:
        """One ticker for every stream's heartbeat (no timer per stream or per wait)."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            for feed in list(self.feeds.values()):
                for sub in list(feed.subscribers):
                    sub.heartbeat()

    async def _listen(self) -> None:
        """Hold the Redis subscription (reconnecting); poll every feed every ``poll_interval``."""
        if self.redis_url is None:
            while True:
                await asyncio.sleep(self.poll_interval)
                self._wake_all()
        from redis.asyncio import Redis

        loop = asyncio.get_running_loop()
        while not self._stopping:
            client = Redis.from_url(self.redis_url, socket_connect_timeout=2)
            ps = client.pubsub(ignore_subscribe_messages=True)
            try:
                await ps.subscribe(self.channel)
                self._subscribed.set()
                # Anything announced while not subscribed is read from the log now.
                self._wake_all()
                polled = loop.time()
                while True:
                    msg = await ps.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if msg is not None and msg.get("type") == "message":
                        self.dispatch(msg["data"])
                    if loop.time() - polled >= self.poll_interval:
                        polled = loop.time()
                        self._wake_all()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect; the log fills what was missed
                self._subscribed.clear()
                log.warning("realtime: Redis subscription lost: %r", exc)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await ps.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()
