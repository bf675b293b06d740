"""Which app a request is for (Host or ``/a/{slug}``), and which of its routes answers it.

An app is reached by ``Host`` — ``{slug}.{PICLOUD_BASE_DOMAIN}`` or one of
its registered hostnames — on any path, or on any host by the path prefix
``/a/{slug}`` (``/a/shop/users/42`` is ``/users/42`` of app ``shop``). A
request that could be for an app carries an ``AppTarget``; the snapshot
query (``snapshot.py``) says whether that app exists.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

__all__ = ["AppTarget", "HostRouter", "RouteMatch", "RouteTable", "split_host"]


@dataclass(frozen=True, slots=True)
class AppTarget:
    """Ways this request may name an app, in precedence order."""

    #: The Host, when it may be a registered custom hostname.
    hostname: str | None
    #: ``{slug}`` of a ``{slug}.{base_domain}`` Host.
    host_slug: str | None
    #: ``{slug}`` of an ``/a/{slug}`` path prefix, and the app path after it.
    prefix_slug: str | None
    prefix_path: str
    path: str


def split_host(scope: dict[str, Any]) -> str:
    """The request's host name: lower case, without port."""
    host: str
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = bytes(value).decode("latin-1").strip().lower()
            break
    else:
        server = scope.get("server")
        host = str(server[0]) if server else ""
    if host.startswith("["):  # [v6]:port
        return str(host[1:].split("]", 1)[0])
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HostRouter:
    """Tells app requests from admin-API requests without touching the database."""

    def __init__(self, base_domain: str) -> None:
        self.base = base_domain.lower().rstrip(".")
        self.suffix = "." + self.base

    def target(self, scope: dict[str, Any]) -> AppTarget | None:
        """How this request may name an app, or None when it cannot be an app request."""
        host = split_host(scope)
        path: str = scope.get("path") or "/"
        hostname = host_slug = None
        if host and host != self.base and not _is_ip(host):
            hostname = host
            if host.endswith(self.suffix):
                label = host[: -len(self.suffix)]
                if label and "." not in label:
                    host_slug = label
        prefix_slug = None
        prefix_path = path
        if path.startswith("/a/"):
            slug, sep, rest = path[3:].partition("/")
            if slug:
                prefix_slug = slug
                prefix_path = "/" + rest if sep else "/"
        if hostname is None and prefix_slug is None:
            return None
        return AppTarget(hostname, host_slug, prefix_slug, prefix_path, path)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The route that answers, with its path parameters."""

    route: Any
    params: dict[str, str]


class RouteTable:
    """An app's routes, compiled for matching: exact paths first, then patterns."""

    def __init__(self, routes: list[Any]) -> None:
        self.exact: dict[tuple[str, str], Any] = {}
        patterns: dict[str, list[tuple[int, tuple[str | None, ...], tuple[str, ...], Any]]] = {}
        for route in routes:
            segments = _segments(route.path)
            if not any(s.startswith("{") for s in segments):
                self.exact[(route.method, route.path)] = route
                continue
            parts: list[str | None] = []
            names: list[str] = []
            for s in segments:
                if s.startswith("{") and s.endswith("}"):
                    parts.append(None)
                    names.append(s[1:-1])
                else:
                    parts.append(s)
            # More literal segments, earlier, wins: /users/me beats /users/{id}.
            rank = sum(1 << (31 - i) for i, p in enumerate(parts) if p is not None)
            patterns.setdefault(route.method, []).append((-rank, tuple(parts), tuple(names), route))
        self.patterns = {m: sorted(v, key=lambda t: (t[0], t[3].path)) for m, v in patterns.items()}

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route for ``method path``, or None; HEAD falls back to the GET route."""
        found = self._match(method, path)
        if found is None and method == "HEAD":
            found = self._match("GET", path)
        return found

    def _match(self, method: str, path: str) -> RouteMatch | None:
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        route = self.exact.get((method, path))
        if route is not None:
            return RouteMatch(route, {})
        candidates = self.patterns.get(method)
        if not candidates:
            return None
        segments = _segments(path)
        n = len(segments)
        for _, parts, names, route in candidates:
            if len(parts) != n:
                continue
            values: list[str] = []
            for part, seg in zip(parts, segments):
                if part is None:
                    if not seg:
                        break
                    values.append(seg)
                elif part != seg:
                    break
            else:
                return RouteMatch(route, dict(zip(names, values)))
        return None


def _segments(path: str) -> list[str]:
    return [] if path == "/" else path[1:].split("/")
