"""Running scripts for the API process: reactor and thread pool, engine, caches, resolver, bridge.

The data plane (``picloud/dataplane``) asks this package to run a compiled
endpoint script off the event loop; triggers and workers reuse the same
pieces later.
"""

from __future__ import annotations

from picloud.execution.bridge import SdkBridge
from picloud.execution.cache import CompiledModule, CompiledScript, LruCache
from picloud.execution.engine import build_engine, engine_options
from picloud.execution.pool import PoolBusy, ScriptPool
from picloud.execution.reactor import ScriptReactor
from picloud.execution.run import ScriptRun, current_run

__all__ = [
    "CompiledModule",
    "CompiledScript",
    "LruCache",
    "PoolBusy",
    "ScriptPool",
    "ScriptReactor",
    "ScriptRun",
    "SdkBridge",
    "build_engine",
    "current_run",
    "engine_options",
]
