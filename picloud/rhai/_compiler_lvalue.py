"""Assignable places (variables, ``this``, index and property chains) for code generation."""

from __future__ import annotations

from typing import Any

from picloud.rhai import nodes as N

__all__ = ["LIndex", "LProp", "LThis", "LVar", "make_lvalue"]


class LVar:
    """A variable: local, boxed, host-scope or (in a capture call) the caller's."""

    def __init__(self, c: Any, node: N.Variable) -> None:
        self.name = node.name
        self.var = c.lookup(node.name) if not node.namespace else None
        self.node = node
        self.kind = c.fx.kind

    @property
    def const(self) -> bool:
        """Whether the place is a constant known at compile time."""
        return self.var is not None and self.var.const

    @property
    def local(self) -> bool:
        """Whether the place is a plain local (writes are unconditional stores)."""
        return self.var is not None

    def read(self, c: Any, p: str) -> str:
        """Expression reading the place."""
        return c.x_Variable(self.node)  # type: ignore[no-any-return]

    def write(self, c: Any, code: str, p: str) -> None:
        """Emit a store of ``code``."""
        v = self.var
        k = c.const(self.name)
        if v is not None:
            if v.const:
                c.emit(f"raise _h_constassign({k}, {p})")
            elif v.shared:
                c.emit(f"{v.py}.v = {code}")
            else:
                c.emit(f"{v.py} = {code}")
        elif self.kind == "capture":
            c.emit(f"_h_capset(cap, {k}, {code}, {p})")
        elif self.kind == "fn":
            # A script function cannot assign outside variables (scope constants stay constant).
            c.emit(f"_h_sconstget(st, {k}, {p})")
            c.emit(f"raise _h_constassign({k}, {p})")
        else:
            c.emit(f"_h_sset(st, {k}, {code}, {p})")


class LThis:
    """The ``this`` box of a method call."""

    const = False
    local = True

    def read(self, c: Any, p: str) -> str:
        """Expression reading ``this``."""
        c.fx.uses_this = True
        return f"(tb[0] if tb else _h_raise(_h_unbound({p})))"

    def write(self, c: Any, code: str, p: str) -> None:
        """Store into ``this``."""
        c.fx.uses_this = True
        c.emit(f"if not tb: raise _h_unbound({p})")
        c.emit(f"tb[0] = {code}")


class LIndex:
    """``parent[index]``."""

    local = False

    def __init__(self, parent: Any, idx: str, p: str, safe: bool = False) -> None:
        self.parent = parent
        self.idx = idx
        self.p = p
        self.safe = safe

    @property
    def const(self) -> bool:
        """A constant root makes the whole chain constant."""
        return bool(self.parent.const)

    def read(self, c: Any, p: str) -> str:
        """Expression reading the element (arrays and string-keyed maps in locals inline)."""
        parent = self.parent.read(c, p)
        if (
            isinstance(self.parent, LVar)
            and self.parent.var is not None
            and not c.cold
            and not c.options.fail_on_invalid_map_property
        ):
            i = self.idx
            return (
                f"({parent}[{i}] if type({parent}) is list and type({i}) is int and -len({parent}) <= {i} < len({parent}) "
                f"else {parent}.get({i}) if type({parent}) is dict and type({i}) is str "
                f"else _h_idx(st, {parent}, {i}, {self.p}))"
            )
        return f"_h_idx(st, {parent}, {self.idx}, {self.p})"

    def write(self, c: Any, code: str, p: str) -> None:
        """Store into the element and write the container back."""
        if self.parent.const:
            c.emit(
                f"raise _h_constassign({c.const(getattr(self.parent, 'name', 'this'))}, {self.p})"
            )
            return
        if self.safe:
            # `x?[i] = v` does nothing when x is ().
            c.emit(f"if {self.parent.read(c, p)} is not None:")
            c.fx.indent += 1
            self.parent.write(
                c, f"_h_idxset(st, {self.parent.read(c, p)}, {self.idx}, {code}, {self.p})", p
            )
            c.fx.indent -= 1
            return
        if isinstance(self.parent, LVar) and self.parent.var is not None:
            # A map held in a local: store in place; the helper handles everything else.
            cont = self.parent.read(c, p)
            v = c.atom(code)
            c.emit(f"if type({cont}) is dict and type({self.idx}) is str:")
            c.emit(f"    {cont}[{self.idx}] = {v}")
            if c.size_checks:
                c.emit(
                    f"    if len({cont}) > {int(c.options.max_map_size or 1 << 62)} or type({v}) in _h_GROWN: "
                    f"_h_grow(st, {cont}, {v}, {self.p})"
                )
            c.emit("else:")
            c.fx.indent += 1
            self.parent.write(c, f"_h_idxset(st, {cont}, {self.idx}, {v}, {self.p})", p)
            c.fx.indent -= 1
            return
        self.parent.write(
            c, f"_h_idxset(st, {self.parent.read(c, p)}, {self.idx}, {code}, {self.p})", p
        )


class LProp:
    """``parent.name``."""

    local = False

    def __init__(self, parent: Any, name: str, p: str) -> None:
        self.parent = parent
        self.name = name
        self.p = p

    @property
    def const(self) -> bool:
        """A constant root makes the whole chain constant."""
        return bool(self.parent.const)

    def read(self, c: Any, p: str) -> str:
        """Expression reading the property."""
        parent = self.parent.read(c, p)
        k = c.const(self.name)
        if (
            isinstance(self.parent, LVar)
            and self.parent.var is not None
            and not c.options.fail_on_invalid_map_property
        ):
            return f"({parent}.get({k}) if type({parent}) is dict else _h_prop(st, {parent}, {k}, {self.p}))"
        return f"_h_prop(st, {parent}, {k}, {self.p})"

    def write(self, c: Any, code: str, p: str) -> None:
        """Store into the property and write the object back."""
        if self.parent.const:
            c.emit(
                f"raise _h_constassign({c.const(getattr(self.parent, 'name', 'this'))}, {self.p})"
            )
            return
        k = c.const(self.name)
        if isinstance(self.parent, LVar) and self.parent.var is not None:
            cont = self.parent.read(c, p)
            v = c.atom(code)
            c.emit(f"if type({cont}) is dict:")
            c.emit(f"    {cont}[{k}] = {v}")
            if c.size_checks:
                c.emit(
                    f"    if len({cont}) > {int(c.options.max_map_size or 1 << 62)} or type({v}) in _h_GROWN: "
                    f"_h_grow(st, {cont}, {v}, {self.p})"
                )
            c.emit("else:")
            c.fx.indent += 1
            self.parent.write(c, f"_h_propset(st, {cont}, {k}, {v}, {self.p})", p)
            c.fx.indent -= 1
            return
        self.parent.write(c, f"_h_propset(st, {self.parent.read(c, p)}, {k}, {code}, {self.p})", p)


class LTemp:
    """An rvalue used as a place (writes are discarded)."""

    const = False
    local = False

    def __init__(self, code: str) -> None:
        self.code = code

    def read(self, c: Any, p: str) -> str:
        """The value."""
        return self.code

    def write(self, c: Any, code: str, p: str) -> None:
        """Evaluate and drop."""
        c.emit(code)


def make_lvalue(c: Any, node: N.Expr) -> Any:
    """Build the place for an assignment target or method receiver."""
    if isinstance(node, N.Variable):
        return LVar(c, node)
    if isinstance(node, N.ThisExpr):
        return LThis()
    if isinstance(node, N.Index):
        parent = make_lvalue(c, node.target)
        idx = c.atom(c.expr(node.index))
        return LIndex(parent, idx, c.pos(node), node.safe)
    if isinstance(node, N.Property):
        parent = make_lvalue(c, node.target)
        return LProp(parent, node.name, c.pos(node))
    return LTemp(c.atom(c.expr(node)))
