"""``dead_letters::{list, replay, resolve}``: a script's view of its own app's dead letters.

Same binding pattern as ``kv::`` (see :mod:`picloud.sdk.kv`): the app id is
the running script's, never an argument; a caller's principal needs
``AppDeadLetterManage`` (``app:admin``) to replay or resolve and ``AppRead``
to list; failures are catchable errors ``"dead_letters: <fn>: <message> [<code>]"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from picloud.auth.capabilities import AppDeadLetterManage, AppRead, Capability
from picloud.errors import PicloudError
from picloud.execution.run import ScriptRun
from picloud.rhai.engine import Engine
from picloud.sdk._common import fail, limit_sizes, namespace, want_map, want_str
from picloud.sdk._service import authorize_run, bound_run, script_meta
from picloud.sdk._values import from_stored

__all__ = ["install_dead_letters"]

_P = "dead_letters"


def _call(fn: str, cap_type: type[Capability], op: Callable[[Any, ScriptRun], Any]) -> Any:
    run = bound_run(_P, fn)
    cap = cap_type(run.app_id)  # type: ignore[call-arg]

    async def body(conn: Any) -> Any:
        await authorize_run(conn, run, cap)
        return await op(conn, run)

    try:
        return run.bridge.with_conn(body)
    except PicloudError as exc:
        if exc.code in ("forbidden", "not_found") and "dead letter" not in exc.message:
            fail(
                _P,
                f"{fn}: permission denied: the caller lacks {type(cap).__name__}"
                " [dead_letters_permission_denied]",
            )
        fail(_P, f"{fn}: {exc.message} [{exc.code}]")


def list_(options: Any = None) -> list[Any]:
    """``dead_letters::list(#{resolved?, trigger_id?, limit?})``: newest first."""
    from picloud.services import dead_letters as service

    opts = {} if options is None else want_map(_P, "list", options, "an options map")
    unknown = sorted(set(opts) - {"resolved", "trigger_id", "limit"})
    if unknown:
        fail(_P, f"list: unknown option {unknown[0]!r} [dead_letters_invalid_options]")
    resolved = opts.get("resolved", False)
    if resolved is not None and type(resolved) is not bool:
        fail(_P, "list: resolved must be a bool or () [dead_letters_invalid_options]")
    trigger_id = opts.get("trigger_id")
    if trigger_id is not None and not isinstance(trigger_id, str):
        fail(_P, "list: trigger_id must be a string [dead_letters_invalid_options]")
    limit = opts.get("limit")
    rows = _call(
        "list",
        AppRead,
        lambda conn, run: service.list_dead_letters(
            conn,
            run.app_id,
            resolved=resolved,
            trigger_id=trigger_id,
            limit=service.check_limit(limit),
        ),
    )
    out = []
    for row in rows:
        data = msgspec.to_builtins(row)
        out.append(from_stored(data))
    return out


def replay(dl_id: Any) -> str:
    """``dead_letters::replay(id)``: run the job again; the new job id."""
    from picloud.services import dead_letters as service

    text = want_str(_P, "replay", dl_id, "a dead letter id")
    return str(
        _call(
            "replay",
            AppDeadLetterManage,
            lambda conn, run: service.replay(conn, script_meta(run), run.app_id, text),
        )
    )


def resolve(dl_id: Any) -> bool:
    """``dead_letters::resolve(id)``: mark it dealt with; ``true``."""
    from picloud.services import dead_letters as service

    text = want_str(_P, "resolve", dl_id, "a dead letter id")
    _call(
        "resolve",
        AppDeadLetterManage,
        lambda conn, run: service.resolve(conn, script_meta(run), run.app_id, text),
    )
    return True


def install_dead_letters(engine: Engine) -> None:
    """Register the ``dead_letters::`` namespace on ``engine``."""
    opts = engine.options
    sizes = (opts.max_string_size, opts.max_array_size, opts.max_map_size)
    functions: dict[str, Callable[..., Any]] = {
        "list": list_,
        "replay": replay,
        "resolve": resolve,
    }
    engine.register_static_module(_P, limit_sizes(namespace(_P, functions), sizes))
