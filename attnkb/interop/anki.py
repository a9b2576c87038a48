"""Anki packages (.apkg, .colpkg): reading them with the standard library and ``zstandard``.

A package is a zip. New ones (Anki 2.1.50+) hold ``collection.anki21b``, a zstd-compressed
SQLite collection at schema 18 (note types, fields and templates in their own tables, their
settings as protobuf), a ``meta`` file, a zstd-compressed protobuf ``media`` map and
zstd-compressed media files named ``0``, ``1``, … Legacy ones hold ``collection.anki21`` or
``collection.anki2`` (schema 11: note types and decks as JSON in ``col``) and a JSON ``media``
map. Everything in a package is untrusted: sizes are bounded before and while decompressing,
media names are plain file names or nothing, and HTML becomes Markdown text, never markup we run.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from attnkb.errors import UsageError
from attnkb.interop.anki_schedule import MAX_TIMESTAMP, AnkiDays

MAX_COLLECTION_BYTES = 1 << 30  # a decompressed collection
MAX_MEDIA_BYTES = 100 << 20  # one media file
MAX_MEDIA_TOTAL = 2 << 30
MAX_MEMBERS = 200_000
MAX_SMALL_BYTES = 64 << 20  # media map, meta

FORGET_KINDS = (4, 5)  # manual / rescheduled rows; with factor 0 they are a Forget


class PackageError(UsageError):
    """A file that is not a usable Anki package (exit 2, naming the file)."""


@dataclass
class Notetype:
    id: int
    name: str
    cloze: bool
    fields: list[str]
    templates: list[tuple[str, str, str]]  # (name, question format, answer format) by ord


@dataclass
class AnkiNote:
    id: int
    guid: str
    notetype: int
    fields: list[str]
    tags: list[str]


@dataclass
class AnkiCard:
    id: int
    note: int
    deck: int  # the home deck (a card in a filtered deck keeps its original)
    ord: int
    type: int  # 0 new, 1 learning, 2 review, 3 relearning
    queue: int
    due: int
    interval: int
    factor: int
    data: str
    left: int = 0  # steps still to go (last three digits) for a card in (re)learning


@dataclass
class Revlog:
    id: int  # review time, ms since the epoch
    card: int
    ease: int  # 1-4; 0 for manual rows
    factor: int
    time_ms: int
    type: int  # 0 learn, 1 review, 2 relearn, 3 filtered, 4 manual, 5 rescheduled


@dataclass
class Collection:
    notetypes: dict[int, Notetype]
    decks: dict[int, str]
    notes: dict[int, AnkiNote]
    cards: list[AnkiCard]
    revlog: list[Revlog]
    created: datetime  # col.crt
    days: AnkiDays  # how its day numbers (review cards' due) count from crt
    media: dict[str, str] = field(default_factory=dict)  # file name -> zip member
    zstd_media: bool = False


# --- bounded reading ------------------------------------------------------------------------


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, source: str) -> bytes:
    if info.file_size > limit:
        raise PackageError(f"{info.filename} is larger than {limit >> 20} MB", source)
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # the header lied about the size
        raise PackageError(f"{info.filename} is larger than {limit >> 20} MB", source)
    return data


def _unzstd(data: bytes, limit: int, what: str, source: str) -> bytes:
    import zstandard

    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            out = reader.read(limit + 1)
    except zstandard.ZstdError as exc:
        raise PackageError(f"{what} is not valid zstd data: {exc}", source) from exc
    if len(out) > limit:
        raise PackageError(f"{what} decompresses to more than {limit >> 20} MB", source)
    return out


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def protobuf_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one protobuf message: varints as ints, the rest as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated field")
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            out.append((number, buf[pos : pos + width]))
            pos += width
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _first(fields: list[tuple[int, int | bytes]], number: int, default):
    """The first value of field ``number`` if it has the default's type (int or bytes)."""
    return next((v for n, v in fields if n == number and type(v) is type(default)), default)


def read_package(path: Path) -> Collection:
    """The collection of a package, with its media map; raises PackageError for anything else."""
    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"not an Anki package (not a zip file: {exc})", source) from exc
    with zf, tempfile.TemporaryDirectory(prefix="attnkb-anki-") as tmp:
        try:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise PackageError(f"not an Anki package ({len(infos)} files)", source)
            members = {i.filename: i for i in infos}
            latest = False
            if "meta" in members:
                meta = protobuf_fields(_read_member(zf, members["meta"], MAX_SMALL_BYTES, source))
                latest = _first(meta, 1, 0) >= 3
            if "collection.anki21b" in members:
                raw = _read_member(zf, members["collection.anki21b"], MAX_COLLECTION_BYTES, source)
                db_bytes = _unzstd(raw, MAX_COLLECTION_BYTES, "collection.anki21b", source)
                latest = True
            elif "collection.anki21" in members:
                db_bytes = _read_member(zf, members["collection.anki21"], MAX_COLLECTION_BYTES, source)
            elif "collection.anki2" in members:
                db_bytes = _read_member(zf, members["collection.anki2"], MAX_COLLECTION_BYTES, source)
            else:
                raise PackageError("not an Anki package (no collection inside)", source)
            media = _media_map(zf, members, latest, source)
            db_path = Path(tmp) / "collection.sqlite"
            db_path.write_bytes(db_bytes)
            del db_bytes
            collection = _read_collection(db_path, source)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, RuntimeError) as exc:
            raise PackageError(f"not an Anki package ({exc})", source) from exc
    collection.media = media
    collection.zstd_media = latest
    return collection


def _media_map(zf: zipfile.ZipFile, members: dict, latest: bool, source: str) -> dict[str, str]:
    """Media file name -> zip member holding it."""
    info = members.get("media")
    if info is None:
        return {}
    data = _read_member(zf, info, MAX_SMALL_BYTES, source)
    names: dict[str, str] = {}
    if latest:
        entries = protobuf_fields(_unzstd(data, MAX_SMALL_BYTES, "media", source))
        for index, (number, entry) in enumerate(entries):
            if number != 1 or not isinstance(entry, bytes):
                continue
            fields = protobuf_fields(entry)
            name = _first(fields, 1, b"")
            names[name.decode("utf-8", "replace")] = str(_first(fields, 255, index))
    else:
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PackageError(f"media map is not JSON: {exc}", source) from exc
        if not isinstance(raw, dict):
            raise PackageError("media map is not a JSON object", source)
        names = {str(v): str(k) for k, v in raw.items()}
    return {n: m for n, m in names.items() if m in members}


def read_media(path: Path, collection: Collection, name: str) -> bytes:
    """The bytes of one media file, decompressed and bounded."""
    source = str(path)
    with zipfile.ZipFile(path) as zf:
        try:
            info = zf.getinfo(collection.media[name])
            data = _read_member(zf, info, MAX_MEDIA_BYTES, source)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, KeyError, RuntimeError) as exc:
            raise PackageError(f"media {name!r}: {exc}", source) from exc
    return _unzstd(data, MAX_MEDIA_BYTES, f"media {name!r}", source) if collection.zstd_media else data


def _read_collection(db_path: Path, source: str) -> Collection:
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise PackageError(f"cannot open the collection: {exc}", source) from exc
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"col", "notes", "cards", "revlog"} - tables
        if missing:
            raise PackageError(f"not an Anki collection (no table {', '.join(sorted(missing))})", source)
        crt, models, decks_json = db.execute("SELECT crt, models, decks FROM col").fetchone() or (0, "", "")
        if "notetypes" in tables:
            notetypes, decks = _schema18(db)
        else:
            notetypes, decks = _schema11(models, decks_json)
        notes = {
            int(nid): AnkiNote(int(nid), str(guid), int(mid), str(flds).split("\x1f"), str(tags).split())
            for nid, guid, mid, flds, tags in db.execute("SELECT id, guid, mid, flds, tags FROM notes")
        }
        cards = []
        for row in db.execute(
            "SELECT id, nid, did, ord, type, queue, due, ivl, factor, odue, odid, data, left"
            " FROM cards ORDER BY nid, ord"
        ):
            cid, nid, did, ord_, type_, queue, due, ivl, factor, odue, odid = (int(x) for x in row[:11])
            card = AnkiCard(
                cid,
                nid,
                odid or did,
                ord_,
                type_,
                queue,
                odue if odid else due,
                ivl,
                factor,
                str(row[11] or ""),
                int(row[12] or 0),
            )
            cards.append(card)
        revlog = [
            r
            for row in db.execute("SELECT id, cid, ease, factor, time, type FROM revlog ORDER BY cid, id")
            if 0 < (r := Revlog(*(int(x) for x in row))).id < MAX_TIMESTAMP * 1000
        ]
        crt = int(crt or 0)
        if not 0 <= crt < MAX_TIMESTAMP:
            raise ValueError(f"collection creation time {crt} out of range")
        days = AnkiDays.from_config(crt, _day_config(db, tables))
    except sqlite3.DatabaseError as exc:
        raise PackageError(f"not an Anki collection ({exc})", source) from exc
    except (TypeError, ValueError, json.JSONDecodeError, AttributeError, OverflowError) as exc:
        raise PackageError(f"damaged Anki collection ({exc})", source) from exc
    finally:
        db.close()
    created = datetime.fromtimestamp(crt, UTC)
    return Collection(notetypes, decks, notes, cards, revlog, created, days)


DAY_KEYS = ("rollover", "creationOffset", "schedVer")


def _day_config(db: sqlite3.Connection, tables: set[str]) -> dict:
    """The config values that say how the collection counts days: schema 18 keeps them as
    JSON rows of ``config``, schema 11 in the ``col.conf`` JSON. Unreadable ones count as unset."""
    found: dict = {}
    if "config" in tables:
        rows = db.execute(
            f"SELECT key, val FROM config WHERE key IN ({','.join('?' * len(DAY_KEYS))})", DAY_KEYS
        )
        for key, val in rows:
            with contextlib.suppress(ValueError, TypeError, UnicodeDecodeError):
                found[str(key)] = json.loads(val if isinstance(val, bytes | str) else b"")
        return found
    (conf,) = db.execute("SELECT conf FROM col").fetchone() or ("",)
    with contextlib.suppress(ValueError, TypeError):
        parsed = json.loads(conf or "{}")
        if isinstance(parsed, dict):
            found = {k: parsed[k] for k in DAY_KEYS if k in parsed}
    return found


def _blob(value) -> bytes:
    """SQLite keeps any type in any column: a config that is not a blob is an empty one."""
    return value if isinstance(value, bytes) else b""


def _schema18(db: sqlite3.Connection) -> tuple[dict[int, Notetype], dict[int, str]]:
    notetypes: dict[int, Notetype] = {}
    for ntid, name, config in db.execute("SELECT id, name, config FROM notetypes"):
        kind = _first(protobuf_fields(_blob(config)), 1, 0)
        notetypes[ntid] = Notetype(ntid, str(name), kind == 1, [], [])
    for ntid, name in db.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
        if ntid in notetypes:
            notetypes[ntid].fields.append(str(name))
    for ntid, name, config in db.execute("SELECT ntid, name, config FROM templates ORDER BY ntid, ord"):
        if ntid in notetypes:
            fields = protobuf_fields(_blob(config))
            q, a = _first(fields, 1, b""), _first(fields, 2, b"")
            notetypes[ntid].templates.append(
                (str(name), q.decode("utf-8", "replace"), a.decode("utf-8", "replace"))
            )
    decks = {did: str(name).replace("\x1f", "::") for did, name in db.execute("SELECT id, name FROM decks")}
    return notetypes, decks


def _schema11(models: str, decks: str) -> tuple[dict[int, Notetype], dict[int, str]]:
    notetypes: dict[int, Notetype] = {}
    for mid, m in (json.loads(models or "{}") or {}).items():
        fields = [str(f.get("name", "")) for f in sorted(m.get("flds", []), key=lambda f: f.get("ord", 0))]
        templates = [
            (str(t.get("name", "")), str(t.get("qfmt", "")), str(t.get("afmt", "")))
            for t in sorted(m.get("tmpls", []), key=lambda t: t.get("ord", 0))
        ]
        notetypes[int(mid)] = Notetype(
            int(mid), str(m.get("name", "")), m.get("type") == 1, fields, templates
        )
    names = {int(did): str(d.get("name", "")) for did, d in (json.loads(decks or "{}") or {}).items()}
    return notetypes, names


# --- cards as text --------------------------------------------------------------------------

_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_SECTION = re.compile(r"\{\{([#^])\s*([^}]+?)\s*\}\}(.*?)\{\{/\s*\2\s*\}\}", re.DOTALL)
_FIELD = re.compile(r"\{\{\s*([^#^/}][^}]*?)\s*\}\}")
_ANSWER_RULE = re.compile(r"<hr\s+id\s*=\s*[\"']?answer[\"']?\s*/?>", re.IGNORECASE)


def cloze_numbers(text: str) -> list[int]:
    return sorted({int(m.group(1)) for m in _CLOZE.finditer(text)})


def _cloze(text: str, active: int, answer: bool) -> str:
    def one(m: re.Match) -> str:
        if int(m.group(1)) != active:
            return m.group(2)
        if answer:
            return f"<b>{m.group(2)}</b>"
        return f"[{m.group(3)}]" if m.group(3) else "[...]"

    return _CLOZE.sub(one, text)


def render(template: str, fields: dict[str, str], cloze: int | None, answer: bool, front: str = "") -> str:
    """A card side from its template, the way Anki fills one (fields, sections, filters)."""
    for _ in range(20):  # nested sections: innermost last, bounded
        new = _SECTION.sub(
            lambda m: m.group(3) if (fields.get(m.group(2), "").strip() != "") == (m.group(1) == "#") else "",
            template,
        )
        if new == template:
            break
        template = new

    def fill(m: re.Match) -> str:
        spec = m.group(1).strip()
        if spec == "FrontSide":
            return front
        *filters, name = [p.strip() for p in spec.split(":")]
        if "type" in filters:
            return ""
        value = fields.get(name, "")
        if "cloze" in filters and cloze is not None:
            return _cloze(value, cloze, answer)
        return value

    return _FIELD.sub(fill, template)


def card_sides(notetype: Notetype, note: AnkiNote, card: AnkiCard) -> tuple[str, str] | None:
    """(question HTML, answer-only HTML), or None for a card with nothing to ask."""
    fields = dict(zip(notetype.fields, note.fields, strict=False))
    if notetype.cloze:
        if not notetype.templates:
            return None
        _, qfmt, afmt = notetype.templates[0]
        number = card.ord + 1
        if not any(number in cloze_numbers(v) for v in fields.values()):
            return None
    else:
        if card.ord >= len(notetype.templates):
            return None
        _, qfmt, afmt = notetype.templates[card.ord]
        number = None
    question = render(qfmt, fields, number, answer=False)
    full = render(afmt, fields, number, answer=True, front=question)
    parts = _ANSWER_RULE.split(full, maxsplit=1)
    answer = parts[1] if len(parts) == 2 else full.replace(question, "", 1) if question else full
    return question, answer


# --- review history -------------------------------------------------------------------------


def usable_history(rows: list[Revlog]) -> list[Revlog]:
    """The reviews FSRS learns from: a Forget drops what came before it; manual and rescheduled
    rows, ``ease=0`` rows and filtered-deck rows that did not reschedule (``factor=0``) go."""
    kept: list[Revlog] = []
    for r in sorted(rows, key=lambda r: r.id):
        if r.type in FORGET_KINDS and r.factor == 0 and r.ease == 0:
            kept = []
            continue
        if r.ease not in (1, 2, 3, 4) or r.type in FORGET_KINDS or (r.type == 3 and r.factor == 0):
            continue
        kept.append(r)
    return kept


def review_time(r: Revlog) -> datetime:
    return datetime.fromtimestamp(r.id / 1000, UTC)


def safe_media_name(name: str) -> bool:
    """A plain file name we may create beside the notes: no folders, no hidden files."""
    return (
        0 < len(name) <= 200
        and PurePosixPath(name).name == name
        and "\\" not in name
        and not name.startswith(".")
        and not any(ord(c) < 32 or c in '<>:"|?*' for c in name)
    )


# --- import ---------------------------------------------------------------------------------


@dataclass
class NotePlan:
    path: str  # vault-relative
    text: str | None  # None: the note is already there (an earlier import) and stays as it is
    media: list[str] = field(default_factory=list)


def _plain(field_html: str) -> str:
    """A field as plain text, its formulas as the review screen shows them (QKᵀ, not \\(QK^T\\))."""
    from attnkb.interop.html import to_text
    from attnkb.mathtext import math_readable

    return math_readable(to_text(_CLOZE.sub(lambda m: m.group(2), field_html)))


def _file_name(title: str) -> str:
    name = re.sub(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f]', " ", title)
    name = re.sub(r"\s+", " ", name).strip(" .")[:80].strip(" .")
    return name


def _tag(name: str) -> str:
    return re.sub(r"\s+", "_", name.replace("::", "/")).strip("/")


def _existing_guids(into: Path, root: Path) -> dict[str, str]:
    """``anki_guid`` of notes an earlier import wrote into ``into`` -> their vault path."""
    found: dict[str, str] = {}
    if not into.is_dir():
        return found
    for p in sorted(into.rglob("*.md")):
        try:
            with open(p, "rb") as f:
                head = f.read(8192).decode("utf-8", "replace")
        except OSError:
            continue
        m = re.search(r'^anki_guid:\s*"((?:[^"\\]|\\.)*)"\s*$', head, re.MULTILINE)
        if m:
            with contextlib.suppress(ValueError):  # a hand-edited guid that is not a JSON string
                found.setdefault(json.loads(f'"{m.group(1)}"'), p.relative_to(root).as_posix())
    return found


def _deck_selected(name: str, wanted: str | None) -> bool:
    return wanted is None or name.lower() == wanted.lower() or name.lower().startswith(wanted.lower() + "::")


def plan_import(package: Path, root: Path, into: Path, deck: str | None):
    """Notes to write and log entries for one package; nothing is written here."""
    from attnkb.interop.html import media_references, one_line, to_markdown
    from attnkb.interop.records import ImportReport, Skipped
    from attnkb.note import parse_text
    from attnkb.srs.cards import cards_for

    collection = read_package(package)
    source = package.name
    report = ImportReport()
    plans: list[NotePlan] = []
    existing = _existing_guids(into, root)
    taken = {p.lower() for p in existing.values()}
    by_note: dict[int, list[AnkiCard]] = {}
    for card in collection.cards:
        if _deck_selected(collection.decks.get(card.deck, ""), deck):
            by_note.setdefault(card.note, []).append(card)
    history: dict[int, list[Revlog]] = {}
    for r in collection.revlog:
        history.setdefault(r.card, []).append(r)
    if deck is not None and not by_note:
        raise UsageError(
            f"no deck named {deck!r} (decks: {', '.join(sorted(collection.decks.values()))})", str(package)
        )
    for nid, cards in by_note.items():
        note = collection.notes.get(nid)
        notetype = collection.notetypes.get(note.notetype) if note else None
        if note is None or notetype is None:
            report.skipped.append(Skipped(source, None, f"note {nid}: missing note or note type"))
            continue
        media = {name: name for f in note.fields for name in media_references(f) if name in collection.media}
        for name in [n for n in media if not safe_media_name(n)]:
            report.skipped.append(Skipped(source, None, f"note {nid}: unsafe media name {name!r} not copied"))
            del media[name]
        sides: list[tuple[AnkiCard, str, str, str]] = []
        for card in sorted(cards, key=lambda c: c.ord):
            pair = card_sides(notetype, note, card)
            if pair is None:
                report.skipped.append(
                    Skipped(source, None, f"note {nid}: card {card.ord + 1} has nothing to ask")
                )
                continue
            q, a = (to_markdown(x, media) for x in pair)
            name = notetype.templates[0 if notetype.cloze else card.ord][0]
            sides.append((card, name, q, a))
        if not sides:
            continue
        title = _plain(note.fields[0] if note.fields else "")[:80] or f"Anki note {nid}"
        path = existing.get(note.guid)
        if path is None:
            base = _file_name(title) or f"anki-{nid}"
            rel = (into / f"{base}.md").relative_to(root).as_posix()
            if rel.lower() in taken or (root / rel).exists():
                rel = (into / f"{base} ({nid}).md").relative_to(root).as_posix()
            if rel.lower() in taken or (root / rel).exists():
                report.skipped.append(Skipped(source, None, f"note {nid}: {rel} exists and is not ours"))
                continue
            taken.add(rel.lower())
        decks = sorted({collection.decks.get(c.deck, "") for c in cards} - {""})
        tags = [_tag(d) for d in decks] + [_tag(t) for t in note.tags]
        body = [f"# {one_line(to_markdown(title))}", ""]
        for _, name, q, a in sides:
            heading = one_line(q)
            if not re.sub(r"!\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\(<[^>]*>\)", "", heading).strip():
                body += [f"### Q: {one_line(to_markdown(title))} ({_plain(name) or 'card'})", "", q, ""]
            else:
                body += [f"### Q: {heading}", ""]
            body += [a or "_(no answer)_", ""]
        front = [
            "---",
            f"title: {json.dumps(title, ensure_ascii=False)}",
            "tags:",
            *[f"- {json.dumps(t, ensure_ascii=False)}" for t in dict.fromkeys(t for t in tags if t)],
            f"anki_guid: {json.dumps(note.guid, ensure_ascii=False)}",
            f"anki_note_id: {nid}",
            "---",
        ]
        text = "\n".join(front + body).rstrip() + "\n"
        ours = [c for c in cards_for(parse_text(path or rel, text)) if c.kind == "heading"]
        if len(ours) != len(sides):
            report.skipped.append(Skipped(source, None, f"note {nid}: its cards do not survive as questions"))
            continue
        target = path or rel
        plans.append(NotePlan(target, None if path else text, list(media.values())))
        report.notes += 1
        for (card, *_), ours_card in zip(sides, ours, strict=True):
            report.cards += 1
            _card_entries(report, collection, card, history.get(card.id, []), ours_card.id, target)
    return report, plans, collection


def _card_entries(
    report, collection: Collection, card: AnkiCard, rows: list[Revlog], cid: str, path: str
) -> None:
    """The card's usable reviews, then a state entry carrying Anki's due time, phase and steps
    to go (attnkb.interop.anki_schedule), and its FSRS memory (or one from SM-2 when there is no
    history to replay), kept from then on as Anki keeps it."""
    from attnkb.clock import now
    from attnkb.interop.anki_schedule import card_due, card_phase, fsrs_memory, sm2_memory
    from attnkb.srs.log import SET_STATE, Entry, StartState

    kept = usable_history(rows)
    for r in kept:
        report.entries.append(Entry(review_time(r), cid, r.ease, max(0, min(r.time_ms, 3_600_000)), path))
    report.reviews += len(kept)
    due = card_due(card.type, card.queue, card.due, collection.days, now().tzinfo)
    if due is None:
        return
    memory = fsrs_memory(card.data)
    phase, left = card_phase(card.type, card.left)
    if kept:
        at = review_time(kept[-1]) + timedelta(milliseconds=1)
        s, d = memory if memory else (None, None)
    elif card.type == 2:
        at = due - timedelta(days=max(card.interval, 0))
        s, d = memory or sm2_memory(card.factor, card.interval)
    else:
        at, (s, d) = due, memory or (None, None)
    rounded = s is not None
    report.entries.append(Entry(at, cid, SET_STATE, 0, path, StartState(s, d, due, phase, left, rounded)))


def write_import(package: Path, root: Path, plans: list[NotePlan], collection: Collection, report) -> None:
    """Create the new notes and media files; never overwrite a file that exists. A place the
    write rule refuses (a link out of the vault) is skipped with its reason; the rest is written."""
    from attnkb.errors import WriteRefused
    from attnkb.files import create_new, make_dirs
    from attnkb.interop.records import Skipped, append_new

    total = 0
    for plan in plans:
        folder = (root / plan.path).parent
        try:
            make_dirs(folder, root)
        except WriteRefused as exc:
            report.skipped.append(Skipped(exc.path or plan.path, None, exc.message))
            continue
        for name in plan.media:
            target = folder / name
            data = read_media(package, collection, name)
            total += len(data)
            if total > MAX_MEDIA_TOTAL:
                raise PackageError(f"media add up to more than {MAX_MEDIA_TOTAL >> 20} MB", str(package))
            try:
                create_new(target, data, root)
            except FileExistsError:
                if target.is_symlink() or not target.is_file() or target.read_bytes() != data:
                    report.skipped.append(
                        Skipped(str(target.relative_to(root)), None, "exists with other content; kept")
                    )
            except WriteRefused as exc:
                report.skipped.append(Skipped(exc.path or name, None, exc.message))
        if plan.text is not None:
            try:
                create_new(root / plan.path, plan.text, root)
            except FileExistsError:
                pass  # written meanwhile: an existing note is never edited
            except WriteRefused as exc:
                report.skipped.append(Skipped(exc.path or plan.path, None, exc.message))
    report.written = append_new(root, report.entries)
