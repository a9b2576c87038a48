"""Changing ``.attnkb/config.toml`` in place. The file is the user's: tomlkit keeps its comments,
key order and layout, and we also keep its byte order mark and line endings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from attnkb.errors import ConfigError
from attnkb.files import atomic_write

MAX_CONFIG_BYTES = 1 << 20  # a settings file; anything larger is not one
BOM = "\ufeff"


@dataclass
class ConfigDocument:
    path: Path
    document: object  # tomlkit.TOMLDocument
    bom: bool
    crlf: bool

    def set_parameters(self, parameters: Iterable[float]) -> None:
        """``[review] parameters = [...]``, adding the table or the key where missing."""
        import tomlkit

        review = self.review()
        if review is None:
            review = tomlkit.table()
            self.document.append("review", review)  # type: ignore[attr-defined]
        array = tomlkit.array()
        array.extend(list(parameters))
        review["parameters"] = array

    def review(self):
        """The ``[review]`` table, None if there is none."""
        from tomlkit.items import InlineTable, Table

        review = self.document.get("review")  # type: ignore[attr-defined]
        if review is not None and not isinstance(review, Table | InlineTable):
            raise ConfigError("review must be a table ([review]), not a value or a list", path=str(self.path))
        return review

    def text(self) -> str:
        text = self.document.as_string()  # type: ignore[attr-defined]
        if self.crlf:  # tomlkit ends the lines it adds with \n alone
            text = re.sub(r"(?<!\r)\n", "\r\n", text)
        return (BOM if self.bom else "") + text

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, self.text())


def read(path: Path) -> ConfigDocument:
    """The config file as an editable document (an empty one if there is none yet)."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    if not path.exists():
        return ConfigDocument(path, tomlkit.document(), bom=False, crlf=False)
    data = path.read_bytes()
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{len(data)} bytes: too large for a settings file", path=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=str(path)) from exc
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    try:
        document = tomlkit.parse(text)
    except ParseError as exc:
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        raise ConfigError(f"invalid TOML: {message}", path=str(path), line=exc.line) from exc
    config = ConfigDocument(path, document, bom=bom, crlf="\r\n" in text)
    config.review()  # a [review] we could not edit is reported before any work
    return config
