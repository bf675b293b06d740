"""Scripts and modules of an app: validation rules shared by the admin API and the resolver."""

from __future__ import annotations

from picloud.scripts.validation import (
    RESERVED_MODULE_NAMES,
    ValidatedScript,
    check_module_shape,
    validate_script,
)

__all__ = ["RESERVED_MODULE_NAMES", "ValidatedScript", "check_module_shape", "validate_script"]
