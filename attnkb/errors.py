"""Domain errors. The CLI maps them to ``attnkb: path:line: message`` and an exit code."""

from __future__ import annotations


class AttnkbError(Exception):
    """Base of every error we raise on purpose; ``exit_code`` follows the CLI contract."""

    exit_code = 2

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}: " if self.line else f"{self.path}: "

    def __str__(self) -> str:
        return self.location() + self.message


class UsageError(AttnkbError):
    """The user asked for something that cannot be done as asked (exit 2)."""


class NoteNotFound(UsageError):
    pass


class AmbiguousNote(UsageError):
    pass


class UnknownTag(AttnkbError):
    """``--tag`` that no note has: the command would show nothing and look as if all were done
    (exit 1, as for other problems found)."""

    exit_code = 1


class FrontMatterError(AttnkbError):
    """Front matter that we must not or cannot rewrite safely."""


class WriteRefused(AttnkbError):
    """A note we must not rewrite: its real file lies outside the vault, or it is read-only.
    ``path`` names it, so a review session can skip that note's summary and go on."""


class ExampleError(AttnkbError):
    """An ``attention`` block that is malformed (exit 2)."""


class ConfigError(AttnkbError):
    pass


class TemplateError(AttnkbError):
    pass


class NoteExists(AttnkbError):
    """``new`` would overwrite a note: it never does (exit 1)."""

    exit_code = 1


class FormulaError(AttnkbError):
    """A formula in a note that we do not evaluate (its verdict is ``unsupported``)."""
