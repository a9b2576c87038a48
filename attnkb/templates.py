"""Scaffolding: new notes from templates, and the starter vault that ships with attnkb.

Templates are Markdown with ``{{ name }}`` placeholders (not ``$name``: notes are full of
``$…$`` formulas). A value is written as YAML inside the front matter and as text in the body,
so a title such as ``a: "b"`` can neither break the front matter nor show quotes in the heading.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path, PurePosixPath

import yaml

from attnkb import frontmatter
from attnkb.errors import NoteExists, TemplateError, UsageError, WriteRefused
from attnkb.files import create_new, inside_vault, make_dirs
from attnkb.vault import STATE_DIR, walk

TEMPLATES_DIR = "templates"  # under the vault's .attnkb/, where a vault overrides bundled ones
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE = re.compile(r'[/\\<>:"|?*]')  # separators, and what Windows forbids in a file name
_MAX_NAME_BYTES = 200  # file systems allow 255; leave room for ".md" and editors' swap files
_LINK_FORBIDDEN = re.compile(r"[\[\]|\n\r]")


def _bundled(kind: str) -> Path:
    return Path(str(resources.files("attnkb") / "data" / kind))


_PLACEHOLDER = r"""
    \{\{\s*(?:
      (?P<named>[a-z_][a-z0-9_]*)\s*\}\} |
      (?P<braced>(?!))                   |
      (?P<escaped>(?!))                  |
      (?P<invalid>(?!))
    )"""  # only {{ word }} is a placeholder; other braces (LaTeX's x^{{2}}) stay text


class _Placeholders(string.Template):
    """``{{ name }}``; anything else, ``$`` included, is text."""

    # a str, which string.Template compiles with its flags (typeshed types only the compiled one)
    pattern = _PLACEHOLDER  # type: ignore[assignment]


@dataclass
class Values:
    """What a template may use: ``title``, ``date``, ``tags``, ``related``."""

    title: str
    day: date
    tags: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)

    def as_yaml(self) -> dict[str, str]:
        return {
            "title": _yaml_scalar(self.title),
            "date": self.day.isoformat(),
            "tags": "[" + ", ".join(_yaml_scalar(t, flow=True) for t in self.tags) + "]",
            "related": "[" + ", ".join(f"[{_yaml_scalar(r, flow=True)}]" for r in self.related) + "]",
        }

    def as_text(self) -> dict[str, str]:
        return {
            "title": self.title,
            "date": self.day.isoformat(),
            "tags": ", ".join(self.tags),
            "related": ", ".join(f"[[{r}]]" for r in self.related),
        }


def _yaml_scalar(text: str, flow: bool = False) -> str:
    """Plain when YAML reads it back unchanged (inside ``[…]`` if ``flow``), else
    double-quoted: a JSON string is a YAML string."""
    try:
        wanted = {"k": [text] if flow else text}
        if "#" not in text and yaml.safe_load(f"k: [{text}]" if flow else f"k: {text}") == wanted:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def clean_title(title: str) -> str:
    """One line of text: control and format characters and runs of space become one space."""
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in title)
    cleaned = " ".join(unicodedata.normalize("NFC", kept).split())
    if not cleaned:
        raise UsageError("the title is empty")
    return cleaned


def safe_file_name(title: str) -> str:
    """A file name that stays in its folder on every system: CJK and other letters kept;
    separators, ``..``, control characters, leading dots and reserved device names gone."""
    name = _UNSAFE.sub(" ", clean_title(title))
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r"(?i)\.md$", "", " ".join(name.split())).strip(" .")
    first, dot, rest = name.partition(".")
    if first.rstrip().upper() in _RESERVED:  # Windows reserves CON and CON.txt alike
        name = f"{first}_{dot}{rest}"
    encoded = name.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        name = encoded[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore").rstrip(" .")
    if not name:
        raise UsageError(f"the title {title!r} leaves nothing to name a file with")
    return name + ".md"


def check_link(target: str) -> str:
    target = target.strip()
    if not target or _LINK_FORBIDDEN.search(target):
        raise UsageError(f"--link {target!r}: a note name cannot be empty or hold [ ] | or line breaks")
    return target


def _template_folders(root: Path) -> tuple[Path, Path]:
    """The vault's own first: it overrides the bundled template of the same name."""
    return root / STATE_DIR / TEMPLATES_DIR, _bundled("templates")


def template_names(root: Path) -> list[str]:
    return sorted({p.stem for folder in _template_folders(root) for p in folder.glob("*.md")})


def find_template(root: Path, name: str) -> Path:
    """The vault's ``.attnkb/templates/NAME.md`` if there is one, else the bundled one."""
    if not re.fullmatch(r"[\w-]+", name):
        raise UsageError(f"--template {name!r}: a template is named by a plain word")
    for folder in _template_folders(root):
        if (folder / f"{name}.md").is_file():
            return folder / f"{name}.md"
    raise UsageError(f"no template {name!r}; there are: {', '.join(template_names(root))}")


def render(template: str, values: Values, where: str = "template") -> str:
    """Fill the placeholders; the result must be a note whose front matter parses."""
    parts = frontmatter.split(template)
    cut = len(parts.bom) + parts.fm_end if parts.fm_text is not None else 0
    try:
        head = _Placeholders(template[:cut]).substitute(values.as_yaml())
        body = _Placeholders(template[cut:]).substitute(values.as_text())
    except KeyError as exc:
        name = exc.args[0]
        at = re.search(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", template)
        line = template.count("\n", 0, at.start()) + 1 if at else None
        known = ", ".join(values.as_text())
        raise TemplateError(f"unknown placeholder {{{{ {name} }}}}; use {known}", where, line) from exc
    text = head + body
    fm_text = frontmatter.split(text).fm_text
    problems = frontmatter.parse(fm_text, first_line=2).problems if fm_text is not None else []
    if problems:
        raise TemplateError(f"makes invalid front matter: {problems[0].message}", where, problems[0].line)
    return text


def target_folder(root: Path, subdir: str | None) -> Path:
    """``--dir`` inside the vault, never a hidden folder (notes there are skipped)."""
    if not subdir:
        return root
    rel = PurePosixPath(subdir.replace("\\", "/"))
    if rel.is_absolute() or any(part == ".." or part.startswith(".") for part in rel.parts):
        raise UsageError(f"--dir {subdir!r}: give a folder inside the vault, not hidden, without '..'")
    folder = root / rel
    inside_vault(folder, root)
    return folder


def create_note(root: Path, folder: Path, template: Path, values: Values) -> Path:
    """Write the new note; an existing file is never touched (``NoteExists``, exit 1)."""
    try:
        source = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read template: {exc}", str(template)) from exc
    text = render(source, values, str(template))
    path = folder / safe_file_name(values.title)
    rel = path.relative_to(root).as_posix()
    make_dirs(folder, root)
    try:
        create_new(path, text, root)
    except FileExistsError as exc:
        raise NoteExists("a note with this name already exists; nothing written", rel) from exc
    return path


def copy_starter(root: Path) -> tuple[list[str], list[str], list[WriteRefused]]:
    """Copy the bundled starter notes into root; files already there are kept as they are, and
    a place the write rule refuses (a link out of the vault) is left alone and reported."""
    source = _bundled("starter")
    copied: list[str] = []
    kept: list[str] = []
    refused: list[WriteRefused] = []
    for note in walk(source):  # the notes a vault would see: no hidden files, no .attnkb/
        dest = root / note.rel
        try:
            make_dirs(dest.parent, root)
            create_new(dest, (source / note.rel).read_bytes(), root)
        except FileExistsError:
            kept.append(note.rel)
            continue
        except WriteRefused as exc:
            refused.append(exc)
            continue
        copied.append(note.rel)
    return copied, kept, refused
