"""Typed errors and warnings of the readers; each names the file (and record/line)."""

from __future__ import annotations

from dataclasses import dataclass


class ParseError(Exception):
    """A file cannot be read at all. Carries the path and, when known, the record or line."""

    def __init__(self, path: object, problem: str, *, location: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.location = location
        where = f"{self.path} ({location})" if location else self.path
        super().__init__(f"{where}: {problem}")


class NotRecognised(ParseError):
    """No reader recognises the file's content."""


@dataclass(frozen=True)
class LoadWarning:
    """A problem met while loading: the file it concerns and what is wrong, in one line."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """The JSON form used by ``lrdoctor analyze --json``."""
        return {"path": self.path, "message": self.message}
