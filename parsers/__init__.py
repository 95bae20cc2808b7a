"""Training-log readers: one tidy data model out, whatever came in.

``parsers.load(path) -> list[Run]`` reads a file or walks a folder. This package knows
file formats only; it never imports ``lrdoctor`` or Qt.
"""

from .errors import LoadWarning, NotRecognised, ParseError
from .loader import RunList, load
from .model import (
    SCALAR_COLUMNS,
    Run,
    SchemaError,
    StepOverlap,
    concat_scalars,
    empty_scalars,
    make_scalars,
    validate_scalars,
)
from .registry import Reader, readers, register
from .roles import ROLES, infer_roles, role_of

__all__ = [
    "LoadWarning",
    "NotRecognised",
    "ParseError",
    "Reader",
    "ROLES",
    "Run",
    "RunList",
    "SCALAR_COLUMNS",
    "SchemaError",
    "StepOverlap",
    "concat_scalars",
    "empty_scalars",
    "infer_roles",
    "load",
    "make_scalars",
    "readers",
    "register",
    "role_of",
    "validate_scalars",
]
