"""One way for an SDK namespace to call an async service from a script run.

``kv::``, ``docs::``, ``pubsub::`` and ``dead_letters::`` share it: the bound
run, the capability check for an authenticated caller (anonymous runs are
gated by the script itself), the call through the run's bridge, and the mapping of a
``PicloudError`` to a catchable ``<prefix>: <method>: <message> [<code>]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from picloud.auth.capabilities import Capability
from picloud.errors import PicloudError
from picloud.events.types import EventMeta
from picloud.execution.run import ScriptRun, current_run
from picloud.sdk._common import fail
from picloud.services.context import CommandContext

__all__ = [
    "authorize_run",
    "bound_run",
    "checked",
    "fail_with",
    "script_context",
    "script_meta",
    "service_call",
]


def bound_run(prefix: str, method: str) -> ScriptRun:
    """The run bound on this thread, or a catchable ``… [<prefix>_unavailable]`` error."""
    run = current_run()
    if run is None or run.bridge is None:
        fail(
            prefix,
            f"{method}: only available while an app's script runs [{prefix}_unavailable]",
        )
    return run


def script_context(run: ScriptRun) -> CommandContext:
    """A script's write as a command: the script is the actor, the request correlates."""
    return CommandContext(actor=f"script:{run.script_id}", request_id=run.request_id or None)


def script_meta(run: ScriptRun) -> EventMeta:
    """Event metadata of a script's write (see :func:`script_context`)."""
    return script_context(run).meta()


def fail_with(prefix: str, method: str, exc: PicloudError) -> NoReturn:
    """Throw ``exc`` to the script as ``<prefix>: <method>: <message> [<code>]``."""
    fail(prefix, f"{method}: {exc.message} [{exc.code}]")


def checked(prefix: str, method: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, with a ``PicloudError`` thrown to the script."""
    try:
        return fn()
    except PicloudError as exc:
        fail_with(prefix, method, exc)


async def authorize_run(conn: Any, run: ScriptRun, cap: Capability) -> None:
    """Anonymous runs are gated by the script itself; a caller needs the capability."""
    if run.principal is None:
        return
    from picloud.auth.principal import authorize

    await authorize(conn, run.principal, cap)


def service_call(
    prefix: str,
    method: str,
    run: ScriptRun,
    cap: Capability,
    scope: str,
    op: Callable[[Any, ScriptRun], Any],
) -> Any:
    """Run ``op(conn, run)`` on the loop after the capability check.

    A refused check becomes ``permission denied … [<prefix>_permission_denied]``
    naming the capability and the ``scope`` that grants it.
    """

    async def body(conn: Any) -> Any:
        await authorize_run(conn, run, cap)
        return await op(conn, run)

    try:
        return run.bridge.with_conn(body)
    except PicloudError as exc:
        if exc.code in ("forbidden", "not_found"):
            fail(
                prefix,
                f"{method}: permission denied: the caller lacks {type(cap).__name__}"
                f" ({scope}) [{prefix}_permission_denied]",
            )
        fail_with(prefix, method, exc)
