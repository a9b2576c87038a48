"""Anki's field HTML as Markdown text: formatting kept, scripts and styles dropped, MathJax
``\\(..\\)``/``\\[..\\]`` kept as ``$..$``/``$$..$$``, and every character that our card parser or
Markdown would read as syntax escaped, so an imported answer never becomes a card or markup."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_DROP = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "head",
    "title",
    "noscript",
    "template",
    "svg",
    "math",
}
_WRAP = {"b": "**", "strong": "**", "i": "*", "em": "*", "s": "~~", "del": "~~", "strike": "~~", "code": "`"}
_BLOCK = {"p", "div", "tr", "table", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_SOUND = re.compile(r"\[sound:([^\]\n]+)\]")
_ESCAPE = re.compile(r"([\\`*_\[\]<>$|~=:{}#])")
_SAFE_URL = re.compile(r"^(https?|mailto):", re.IGNORECASE)


class _Converter(HTMLParser):
    def __init__(self, media: dict[str, str]):
        super().__init__(convert_charrefs=True)
        self.media = media  # name in the package -> name we wrote
        self.parts: list[str] = []
        self.drop = 0
        self.lists: list[str] = []
        self.href: list[str | None] = []
        self.pre = 0

    def text(self, s: str) -> None:
        self.parts.append(s)

    def wrap(self, tag: str) -> None:
        """The same mark opens and closes inline formatting (none for code inside ``pre``)."""
        if not (tag == "code" and self.pre):
            self.text(_WRAP[tag])

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        if tag in _DROP:
            self.drop += 1
        if self.drop:
            return
        if tag in _WRAP:
            self.wrap(tag)
        elif tag == "pre":
            self.pre += 1
            self.text("\n\n```\n")
        elif tag == "br":
            self.text("\n")
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
            self.text("\n")
        elif tag == "li":
            self.text(
                "\n" + "  " * max(len(self.lists) - 1, 0) + ("1. " if self.lists[-1:] == ["ol"] else "- ")
            )
        elif tag in _BLOCK or tag == "hr":
            self.text("\n\n")
            if tag[0] == "h" and tag[1:].isdigit():
                self.text("**")
        elif tag == "img":
            self.text(_image(str(a.get("src") or ""), self.media))
        elif tag == "a":
            href = str(a.get("href") or "")
            self.href.append(href if _SAFE_URL.match(href) else None)
            if self.href[-1]:
                self.text("[")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.drop = max(self.drop - 1, 0)
            return
        if self.drop:
            return
        if tag in _WRAP:
            self.wrap(tag)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self.text("\n```\n\n")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.text("\n\n")
        elif tag in _BLOCK:
            if tag[0] == "h" and tag[1:].isdigit():
                self.text("**")
            self.text("\n\n")
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href:
                self.text(f"](<{href.replace('>', '%3E').replace(' ', '%20')}>)")

    def handle_data(self, data: str) -> None:
        if self.drop:
            return
        if self.pre:
            self.text(data.replace("```", "ʼʼʼ"))
            return
        data = re.sub(r"\s+", " ", data)
        self.text(_SOUND.sub(lambda m: _sound(m.group(1), self.media), _escape(data)))


def _escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


def _image(src: str, media: dict[str, str]) -> str:
    name = html.unescape(src)
    if name in media:
        return f"![](<{media[name]}>)"
    if _SAFE_URL.match(name):
        return f"![](<{name.replace('>', '%3E').replace(' ', '%20')}>)"
    return ""


def _sound(name: str, media: dict[str, str]) -> str:
    name = html.unescape(name.replace("\\", ""))
    return f"[{_escape(media[name])}](<{media[name]}>)" if name in media else ""


def media_references(field_html: str) -> set[str]:
    """Media file names a field uses (``<img src>``, ``[sound:]``)."""
    names = {html.unescape(m) for m in re.findall(r"<img[^>]*?src\s*=\s*[\"']?([^\"' >]+)", field_html, re.I)}
    names |= {html.unescape(m) for m in _SOUND.findall(field_html)}
    return names


def to_markdown(field_html: str, media: dict[str, str] | None = None) -> str:
    """Markdown text of an HTML fragment; ``media`` maps package media names to written ones."""
    text = _CONTROL.sub("", field_html)
    maths: list[str] = []

    def keep(m: re.Match) -> str:
        inline = m.group(1) is not None
        body = html.unescape(re.sub(r"<[^>]*>", "", m.group(1) if inline else m.group(2))).strip()
        body = body.replace("$", r"\$").replace("\n", " ")
        maths.append(f"${body}$" if inline else f"$${body}$$")
        return f"\x00M{len(maths) - 1}\x00"

    text = _MATH.sub(keep, text)
    conv = _Converter(media or {})
    conv.feed(text)
    conv.close()
    out = "".join(conv.parts)
    out = re.sub(r"\x00M(\d+)\x00", lambda m: maths[int(m.group(1))], out)
    out = _CONTROL.sub("", out)
    lines = [ln.rstrip() for ln in out.split("\n")]
    lines = [("\\" + ln.lstrip() if re.match(r"^\s*(\?\??|[-+]|\d+[.)])$", ln) else ln) for ln in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(markdown: str) -> str:
    """A heading can hold one line only."""
    return re.sub(r"\s*\n\s*", " ", markdown).strip()


def to_text(field_html: str) -> str:
    """Plain one-line text of an HTML fragment (titles, file names): no tags, no scripts."""
    drop = "|".join(sorted(_DROP))
    text = re.sub(rf"<({drop})\b.*?</\1\s*>", " ", field_html, flags=re.DOTALL | re.IGNORECASE)
    text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()
