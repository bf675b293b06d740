"""Cross-process fan-out of committed publishes over one Redis channel.

The publishing side (:class:`Announcer`) PUBLISHes ``{"app_id", "topic",
"position"}`` on ``<namespace>:realtime`` after the publish committed. It is a
wake-up, not the data: subscribers read messages from the log by position, so
a lost or late announcement never loses a message. Announcing is best effort:
any Redis failure is logged and swallowed, because the publish is already
durable and must not be reported as failed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import msgspec

__all__ = ["Announcement", "Announcer", "announce_topic_change", "channel_name"]

log = logging.getLogger(__name__)


def channel_name(namespace: str) -> str:
    """The one Redis channel every API process subscribes to."""
    return f"{namespace}:realtime"


class Announcement(msgspec.Struct, frozen=True, omit_defaults=True):
    """A publish committed at ``position`` on ``topic`` of ``app_id`` (``kind`` ``publish``),
    or the topic's registration changed (``kind`` ``topic``: streams re-check it)."""

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


async def announce_topic_change(redis: Any, namespace: str, app_id: str, topic: str) -> bool:
    """From the loop: tell every API process that ``topic`` changed (best effort)."""
    if redis is None:
        return False
    payload = _encoder.encode(Announcement(app_id, topic, kind="topic"))
    try:
        await redis.publish(channel_name(namespace), payload)
    except Exception as exc:  # noqa: BLE001 - the change committed; subscribers re-check on resume
        log.warning("realtime: announcing a change of %s:%s failed: %s", app_id, topic, exc)
        return False
    return True


_shared: dict[tuple[str | None, str], Announcer] = {}
_shared_lock = threading.Lock()
