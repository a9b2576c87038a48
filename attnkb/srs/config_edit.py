"""Changing ``.attnkb/config.toml`` in place. The file is the user's: tomlkit keeps its comments,
key order and layout, and we also keep its byte order mark and line endings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attnkb.config import BOM
from attnkb.errors import ConfigError
from attnkb.files import atomic_write, make_dirs

if TYPE_CHECKING:
    from tomlkit import TOMLDocument


@dataclass
class ConfigDocument:
    path: Path
    document: TOMLDocument
    bom: bool
    crlf: bool

    def set_parameters(self, parameters: Iterable[float]) -> None:
        """``[review] parameters = [...]``, adding the table or the key where missing."""
        import tomlkit

        review = self.review()
        if review is None:
            review = tomlkit.table()
            self.document.append("review", review)
        array = tomlkit.array()
        array.extend(list(parameters))
        review["parameters"] = array

    def review(self) -> Any:
        """The ``[review]`` table, None if there is none (``read`` refused anything else)."""
        return self.document.get("review")

    def text(self) -> str:
        text = self.document.as_string()
        if self.crlf:  # tomlkit ends the lines it adds with \n alone
            text = re.sub(r"(?<!\r)\n", "\r\n", text)
        return (BOM if self.bom else "") + text

    def save(self) -> None:
        root = self.path.parent.parent  # <vault>/.attnkb/config.toml
        make_dirs(self.path.parent, root)
        atomic_write(self.path, self.text(), root)


def read(state_dir: Path) -> ConfigDocument:
    """The config file as an editable document (an empty one if there is none yet). It is read
    and checked as every command reads it first, so a broken file is reported the same way."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    from attnkb import config

    config.load(state_dir).table("review")  # size, depth, syntax and a [review] that is a table
    path = state_dir / config.CONFIG_FILE
    raw = config.read_bytes(path)
    if raw is None:
        return ConfigDocument(path, tomlkit.document(), bom=False, crlf=False)
    text, bom = config.decode(path, raw)
    try:
        document = tomlkit.parse(text)
    except ParseError as exc:  # stricter than tomllib here and there
        message = re.sub(r" at line \d+ col \d+$", "", str(exc))
        raise ConfigError(f"invalid TOML: {message}", path=str(path), line=exc.line) from exc
    return ConfigDocument(path, document, bom=bom, crlf="\r\n" in text)
