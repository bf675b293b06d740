"""PiCloud's Rhai interpreter: a pure-Python implementation of the Rhai language.

Scripts are parsed once into an immutable ``AST`` and compiled to Python code
objects (see ``compiler.py``); an ``Engine`` runs them with its options,
limits, registered host functions/types and namespaces. Typical use::

    engine = Engine(SandboxPolicy().options())        # platform limits on
    engine.register_static_module("kv", {"collection": open_collection})
    engine.register_type(Collection, "Collection", methods={"get": Collection.get})
    engine.on_print(log.info)
    ast = engine.compile(source)                      # ErrorParsing on bad syntax
    scope = Scope().push_constant("ctx", request_map)
    value = engine.eval_ast(ast, scope, timeout=2.0)  # RhaiError subclasses on failure

Every failure a script can cause is a ``RhaiError`` with Rhai's kind; no
Python exception or traceback escapes ``Engine`` methods.
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
