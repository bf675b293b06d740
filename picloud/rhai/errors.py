"""Rhai errors, named and shaped as Rhai's own ``EvalAltResult`` / ``ParseErrorType``.

Every failure a script author can see is a ``RhaiError`` subclass whose class-level
``kind`` is the Rhai variant name (``ErrorArithmetic``, ``ErrorParsing`` …). Fields
specific to a variant go in ``fields`` (they become the keys of the map a
``catch (e)`` block receives); ``args`` keeps them in Rhai's positional order.
Python exceptions are never shown to authors: the engine converts anything
unexpected into ``ErrorSystem`` at its boundary.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

__all__ = [
    "NO_POS",
    "ErrorArithmetic",
    "ErrorArrayBounds",
    "ErrorAssignmentToConstant",
    "ErrorBitFieldBounds",
    "ErrorDataRace",
    "ErrorDataTooLarge",
    "ErrorDotExpr",
    "ErrorFor",
    "ErrorForbiddenVariable",
    "ErrorFunctionNotFound",
    "ErrorInFunctionCall",
    "ErrorInModule",
    "ErrorIndexNotFound",
    "ErrorIndexingType",
    "ErrorMismatchDataType",
    "ErrorMismatchOutputType",
    "ErrorModuleNotFound",
    "ErrorNonPureMethodCallOnConstant",
    "ErrorParsing",
    "ErrorPropertyNotFound",
    "ErrorRuntime",
    "ErrorStackOverflow",
    "ErrorStringBounds",
    "ErrorSystem",
    "ErrorTerminated",
    "ErrorTooManyModules",
    "ErrorTooManyOperations",
    "ErrorTooManyVariables",
    "ErrorUnboundThis",
    "ErrorVariableExists",
    "ErrorVariableNotFound",
    "Position",
    "RhaiError",
]


class Position(NamedTuple):
    """A 1-based line and column in the script source; ``(0, 0)`` means unknown."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, position {self.column}" if self.line else "none"


NO_POS = Position(0, 0)


class RhaiError(Exception):
    """Base of every error a Rhai script can raise or observe."""

    #: Rhai's variant name, e.g. ``"ErrorArithmetic"``.
    kind: ClassVar[str] = "ErrorSystem"
    #: Whether ``try``/``catch`` may intercept it (safety limits may not).
    catchable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        pos: Position = NO_POS,
        *args: Any,
        **fields: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.args_ = args
        self.fields = fields

    def __str__(self) -> str:
        if self.pos.line:
            return f"{self.message} ({self.pos})"
        return self.message


def _kind(name: str, *, catchable: bool = True) -> type[RhaiError]:
    cls = type(
        name, (RhaiError,), {"kind": name, "catchable": catchable, "__doc__": f"Rhai ``{name}``."}
    )
    cls.__module__ = __name__
    return cls


class ErrorParsing(RhaiError):
    """A syntax error; ``parse_error`` is Rhai's ``ParseErrorType`` name
    (``MalformedIndexExpr``, ``BadInput`` …) and ``lex_error`` the ``LexError``
    name when the lexer found it."""

    kind = "ErrorParsing"
    catchable = False

    def __init__(
        self,
        parse_error: str,
        message: str,
        pos: Position = NO_POS,
        *args: Any,
        lex_error: str | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, pos, *args, **fields)
        self.parse_error = parse_error
        self.lex_error = lex_error


ErrorSystem = _kind("ErrorSystem")
ErrorVariableExists = _kind("ErrorVariableExists")
ErrorForbiddenVariable = _kind("ErrorForbiddenVariable")
ErrorVariableNotFound = _kind("ErrorVariableNotFound")
ErrorPropertyNotFound = _kind("ErrorPropertyNotFound")
ErrorIndexNotFound = _kind("ErrorIndexNotFound")
ErrorFunctionNotFound = _kind("ErrorFunctionNotFound")
ErrorModuleNotFound = _kind("ErrorModuleNotFound")
ErrorInFunctionCall = _kind("ErrorInFunctionCall")
ErrorInModule = _kind("ErrorInModule")
ErrorUnboundThis = _kind("ErrorUnboundThis")
ErrorMismatchDataType = _kind("ErrorMismatchDataType")
ErrorMismatchOutputType = _kind("ErrorMismatchOutputType")
ErrorIndexingType = _kind("ErrorIndexingType")
ErrorArrayBounds = _kind("ErrorArrayBounds")
ErrorStringBounds = _kind("ErrorStringBounds")
ErrorBitFieldBounds = _kind("ErrorBitFieldBounds")
ErrorFor = _kind("ErrorFor")
ErrorDataRace = _kind("ErrorDataRace")
ErrorNonPureMethodCallOnConstant = _kind("ErrorNonPureMethodCallOnConstant")
ErrorAssignmentToConstant = _kind("ErrorAssignmentToConstant")
ErrorDotExpr = _kind("ErrorDotExpr")
ErrorArithmetic = _kind("ErrorArithmetic")
ErrorRuntime = _kind("ErrorRuntime")
# Safety limits: never catchable by a script.
ErrorTooManyOperations = _kind("ErrorTooManyOperations", catchable=False)
ErrorTooManyVariables = _kind("ErrorTooManyVariables", catchable=False)
ErrorTooManyModules = _kind("ErrorTooManyModules", catchable=False)
ErrorStackOverflow = _kind("ErrorStackOverflow", catchable=False)
ErrorDataTooLarge = _kind("ErrorDataTooLarge", catchable=False)
ErrorTerminated = _kind("ErrorTerminated", catchable=False)


# --------------------------------------------------------------------------- helpers
# Added by the engine: the shape a ``catch (e)`` block sees, and unwrapping.

__all__ += ["caught_value", "describe", "is_catchable", "unwrap"]


def unwrap(err: RhaiError) -> RhaiError:
    """Strip every ``ErrorInFunctionCall`` / ``ErrorInModule`` layer."""
    while err.kind in ("ErrorInFunctionCall", "ErrorInModule"):
        inner = err.fields.get("inner")
        if not isinstance(inner, RhaiError):
            break
        err = inner
    return err


def is_catchable(err: RhaiError) -> bool:
    """Whether ``try``/``catch`` may intercept ``err`` (decided by the innermost error)."""
    return unwrap(err).catchable


def caught_value(err: RhaiError) -> Any:
    """The value a ``catch (e)`` variable receives: the thrown value, or an error map."""
    err = unwrap(err)
    if err.kind == "ErrorRuntime" and "value" in err.fields:
        return err.fields["value"]
    out: dict[str, Any] = {"message": err.message, "error": err.kind}
    if err.pos.line:
        out["line"] = err.pos.line
        out["position"] = err.pos.column
    for key, value in err.fields.items():
        if key != "inner" and isinstance(value, (int, float, str, bool)):
            out[key] = value
    return out


def describe(err: RhaiError) -> str:
    """``Kind: message`` text, naming the parse-error kind for syntax errors."""
    if isinstance(err, ErrorParsing):
        return f"ErrorParsing.{err.parse_error}: {err}"
    return f"{err.kind}: {err}"
