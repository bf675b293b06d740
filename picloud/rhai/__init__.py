"""PiCloud's Rhai interpreter: a pure-Python implementation of the Rhai language.

Public API: ``Engine`` (compile/eval/run, host registration, limits),
``AST`` (a compiled, shareable script), ``Scope`` (host variables),
``EngineOptions`` and the ``RhaiError`` hierarchy.
"""

from __future__ import annotations

from picloud.rhai.engine import AST, Engine, Scope
from picloud.rhai.errors import ErrorParsing, Position, RhaiError
from picloud.rhai.modules import ModuleResolver, StaticResolver
from picloud.rhai.options import EngineOptions
from picloud.rhai.runtime import Module
from picloud.rhai.sandbox import SandboxPolicy
from picloud.rhai.values import Char, FnPtr, RhaiRange, Timestamp

__all__ = [
    "AST",
    "Char",
    "Engine",
    "EngineOptions",
    "ErrorParsing",
    "FnPtr",
    "Module",
    "ModuleResolver",
    "Position",
    "RhaiError",
    "RhaiRange",
    "SandboxPolicy",
    "Scope",
    "StaticResolver",
    "Timestamp",
]
