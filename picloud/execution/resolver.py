"""The module resolver: ``import "<name>"`` sees only the calling app's module scripts.

The engine is shared by every run of the process, so the resolver learns the
calling app from the ``ScriptRun`` bound on the thread. Names resolve through
that run's snapshot (module name → id, version, read from Postgres with the
request), compiled modules come from the module LRU keyed by (id, version),
and a miss loads the record through the SDK bridge. A module loaded from the
database is checked again for module shape (only ``fn``, ``const`` and
``import`` at top level) before it runs, in case a row bypassed the admin API.

Cycles are refused by the interpreter itself (its import stack); the depth
limit is enforced here: each module being loaded records its import chain on
the run, so a nested ``import`` knows how deep it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from picloud.execution.cache import CompiledModule, LruCache
from picloud.execution.run import ScriptRun, current_run
from picloud.rhai import Engine, ModuleResolver, Position
from picloud.rhai import errors as E
from picloud.rhai.compiler import Unit

__all__ = ["AppModuleResolver", "ShapeCheck", "TrackedModule", "module_shape_problem"]

#: ``check(source, ast) -> problem text or None`` (the admin API's module rules).
ShapeCheck = Callable[[str, Any], "str | None"]


def module_shape_problem(source: str, ast: Any) -> str | None:
    """Why ``ast`` is not a valid module (the admin API's shape rules), or None."""
    from picloud.scripts.validation import module_shape_problems

    problems = module_shape_problems(ast)
    if not problems:
        return None
    first = problems[0]
    return f"{first.message} (line {first.line}, position {first.column})"


class TrackedModule:
    """A compiled module whose top level records its import chain while it runs."""

    __slots__ = ("_lock", "_units", "compiled")

    def __init__(self, compiled: CompiledModule) -> None:
        self.compiled = compiled
        self._units: dict[Any, Unit] = {}
        self._lock = threading.Lock()

    @property
    def script(self) -> Any:
        """The parsed script (the interpreter reads its exports)."""
        return self.compiled.ast.script

    @property
    def source(self) -> str:
        """The module's source text."""
        return self.compiled.ast.source

    def unit(self, options: Any, checks: bool) -> Unit:
        """The compiled unit, with a top level that pushes/pops the import chain."""
        key = (options, checks)
        unit = self._units.get(key)
        if unit is None:
            with self._lock:
                unit = self._units.get(key)
                if unit is None:
                    unit = _tracked_unit(self.compiled.ast.unit(options, checks))
                    self._units[key] = unit
        return unit


def _tracked_unit(inner: Unit) -> Unit:
    """A copy of ``inner`` sharing its functions, whose ``main`` records ``st.imports``."""
    unit = Unit.__new__(Unit)
    for slot in Unit.__slots__:
        setattr(unit, slot, getattr(inner, slot))
    real_main = inner.main

    def main(st: Any, tb: Any, d: int) -> Any:
        run = current_run()
        if run is None:
            return real_main(st, tb, d)
        # st.imports is the chain of modules being loaded, this one last.
        run.module_chain.append(list(st.imports))
        try:
            return real_main(st, tb, d)
        finally:
            run.module_chain.pop()

    unit.main = main
    return unit


class AppModuleResolver(ModuleResolver):
    """Resolves ``import`` paths to the calling app's module scripts."""

    def __init__(
        self, cache: LruCache[TrackedModule], depth_max: int, shape_check: ShapeCheck | None = None
    ) -> None:
        self.cache = cache
        self.depth_max = depth_max
        self.shape_check = shape_check

    def resolve(self, engine: Engine, path: str, pos: Position) -> Any:
        """The tracked module for ``path`` in the current run's app, or None (not found)."""
        run = current_run()
        if run is None:
            return None
        chain = run.module_chain[-1] if run.module_chain else []
        if path in chain:
            # The interpreter refuses cycles first; kept so the rule never depends on it.
            shown = " -> ".join([*chain[chain.index(path) :], path])
            raise E.ErrorModuleNotFound(f"Circular import: {shown}", pos, module=path)
        if len(chain) + 1 > self.depth_max:
            shown = " -> ".join([*chain, path])
            raise E.ErrorModuleNotFound(
                f"Import depth limit exceeded: {shown} is deeper than {self.depth_max}"
                " (PICLOUD_MODULE_IMPORT_DEPTH_MAX)",
                pos,
                module=path,
            )
        ref = run.modules.get(path)
        if ref is None:
            return None
        tracked = self.cache.get(ref.id, ref.version)
        if tracked is None:
            tracked = self._load(engine, run, path, pos)
            if tracked is None:
                return None
        return tracked

    def _load(
        self, engine: Engine, run: ScriptRun, path: str, pos: Position
    ) -> TrackedModule | None:
        if run.load_script is None:
            return None
        ref = run.modules[path]
        record = run.load_script(ref.id)
        # Defence in depth: the record must still be this app's module of that name.
        if (
            record is None
            or str(record.app_id) != run.app_id
            or record.kind != "module"
            or record.name != path
        ):
            return None
        try:
            ast = engine.compile(record.source)
        except E.RhaiError as e:
            raise E.ErrorInModule(
                f"Error in module '{path}': {e.message}", pos, module=path, inner=e
            ) from None
        if self.shape_check is not None:
            problem = self.shape_check(record.source, ast)
            if problem:
                raise E.ErrorInModule(
                    f"Error in module '{path}': not a valid module: {problem}",
                    pos,
                    module=path,
                    inner=E.ErrorRuntime(problem, pos),
                )
        compiled = CompiledModule(
            id=str(record.id), app_id=run.app_id, name=path, version=int(record.version), ast=ast
        )
        tracked = TrackedModule(compiled)
        self.cache.put(compiled.id, compiled.version, tracked)
        return tracked
