"""``export anki``: every card as an Anki note, with its schedule and review history.

genanki writes the notes, their note type, deck and media into a legacy (schema 11) collection;
then each card gets the state attnkb has for it (attnkb.interop.anki_schedule's terms: ``type``,
``queue``, ``due`` in the package's day numbers, ``ivl``, ``left`` and FSRS memory in ``data``) and
its reviews become ``revlog`` rows, so Anki, importing with "Import any learning progress", shows
the due date and memory ``attnkb due`` shows. The package's ``crt`` is the start of the earliest
study day it needs, its ``rollover`` our ``day_starts_at`` and its ``creationOffset`` our zone, so
its day numbers count our study days. Anki never updates the schedule of a card it already has.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from attnkb.interop.anki_schedule import (
    LEARN,
    QUEUE_DAY_LEARN,
    QUEUE_LEARN,
    QUEUE_REVIEW,
    RELEARN,
    REVIEW_TYPE,
    AnkiDays,
)
from attnkb.srs.memory import LEARNING, RELEARNING, REVIEW, Memory, anki_rounding

MODEL_ID = 1_607_392_319  # fixed: re-exports update the same note type in Anki
MODEL_NAME = "attnkb card"
CSS = ".card { font-family: sans-serif; font-size: 18px; text-align: left; } .source { color: #888; }"
EXPORT_TAG = "attnkb::export::"  # + the export's time: notes a later export no longer has keep an older one
REVLOG_KIND = {LEARNING: 0, REVIEW: 1, RELEARNING: 2}
SM2_FACTOR = 2500


def deck_id(name: str) -> int:
    """Fixed per deck name, so re-importing into Anki finds the same deck."""
    import hashlib

    return int(hashlib.sha1(("attnkb deck " + name).encode()).hexdigest()[:8], 16) + (1 << 30)


def _renderer():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    from attnkb.markdown import _wikilink

    def math(content: str, options: dict) -> str:
        body = html.escape(content.strip())
        return f"\\[{body}\\]" if options.get("display_mode") else f"\\({body}\\)"

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, renderer=math, double_inline=True)
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.add_render_rule(
        "wikilink",
        lambda self, tokens, idx, options, env: html.escape(
            tokens[idx].meta["text"] or tokens[idx].meta["target"]
        ),
    )
    return md


def _media_in(rendered: str, note_dir: Path, root: Path, media: dict[str, Path]) -> str:
    """Local images become package media (by file name); other local sources are dropped."""
    from urllib.parse import unquote

    def swap(m: re.Match) -> str:
        src = html.unescape(m.group(2))
        if re.match(r"^https?://", src):
            return m.group(0)
        try:
            path = (note_dir / unquote(src)).resolve()
            path.relative_to(root)
        except (ValueError, OSError):
            return m.group(1) + '""'
        if not path.is_file():
            return m.group(1) + '""'
        media.setdefault(path.name, path)
        return f'{m.group(1)}"{html.escape(path.name)}"'

    return re.sub(r'(<img[^>]*?src=)"([^"]*)"', swap, rendered)


# --- schedule -------------------------------------------------------------------------------


@dataclass
class CardRow:
    """The scheduling columns of one Anki card."""

    type: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int
    left: int
    data: str


def package_days(memories: list[Memory | None], now: datetime, rollover: int) -> AnkiDays:
    """Day numbers for the package: day 0 is the earliest study day a review or a due date
    falls on (or today), in our zone and at our rollover, so no card's day number is negative."""
    from attnkb.srs.days import day_start, study_day

    tz = now.tzinfo
    moments = [now]
    for m in memories:
        if m is not None:
            moments += [m.due, *(e.time for e in m.history)]
    first = min(study_day(t, tz, rollover) for t in moments)
    offset = tz.utcoffset(now) if tz is not None else None
    west = -int((offset or timedelta()).total_seconds() // 60)
    return AnkiDays(int(day_start(first, tz, rollover).timestamp()), west, rollover)


def _shifted(difficulty: float | None) -> int:
    """What Anki's revlog keeps of an FSRS difficulty: ``((D - 1) / 9 + 0.1) * 1000``."""
    return 0 if difficulty is None else round(((difficulty - 1) / 9 + 0.1) * 1000)


def card_row(memory: Memory | None, days: AnkiDays, tz, steps_of, retention: float) -> CardRow | None:
    """Anki's columns for a card in this state; None for a new card (genanki's defaults)."""
    if memory is None:
        return None
    data = ""
    if memory.stability is not None and memory.difficulty is not None:
        s, d = anki_rounding(memory.stability, memory.difficulty)
        kept = {"s": s, "d": d, "dr": retention}
        if memory.last_review is not None:
            kept["lrt"] = int(memory.last_review.timestamp())
        data = json.dumps(kept)
    reviews = sum(1 for e in memory.history if e.is_review)
    if memory.phase == REVIEW:
        day = days.day_number(memory.due, tz)
        return CardRow(
            REVIEW_TYPE,
            QUEUE_REVIEW,
            day,
            max(memory.interval, 1),
            SM2_FACTOR,
            reviews,
            memory.lapses,
            0,
            data,
        )
    steps = steps_of(memory.phase)
    left = max(len(steps) - memory.step, 1)
    ctype = RELEARN if memory.phase == RELEARNING else LEARN
    last = memory.last_review or memory.due
    if days.day_number(memory.due, tz) > days.day_number(last, tz):  # a step past the rollover
        queue, due = QUEUE_DAY_LEARN, days.day_number(memory.due, tz)
    else:
        queue, due = QUEUE_LEARN, int(memory.due.timestamp())
    ivl = max((memory.due.date() - last.date()).days, 1) if ctype == RELEARN else 0
    return CardRow(ctype, queue, due, ivl, SM2_FACTOR, reviews, memory.lapses, left, data)


def _interval(memory: Memory, when: datetime, days: AnkiDays, tz) -> int:
    """A revlog interval: days for a review state or a step past the rollover, else -seconds."""
    if memory.phase == REVIEW:
        return memory.interval
    if days.day_number(memory.due, tz) > days.day_number(when, tz):
        return days.day_number(memory.due, tz) - days.day_number(when, tz)
    return -max(int((memory.due - when).total_seconds()), 0)


def revlog_rows(memory: Memory | None, sched, days: AnkiDays, tz) -> list[tuple[int, ...]]:
    """(time ms, ease, ivl, lastIvl, factor, type, time taken ms) for each review of the card's history, as
    Anki would have logged it: the state before each grade gives the kind and last interval,
    the state after it the interval and FSRS difficulty. Imported states log nothing."""
    if memory is None:
        return []
    rows: list[tuple[int, ...]] = []
    state: Memory | None = None
    for entry in memory.history:
        before = state
        state = sched.step(before, entry)
        if not entry.is_review:
            continue
        kind = REVLOG_KIND[before.phase] if before is not None and before.stability is not None else 0
        last = _interval(before, entry.time, days, tz) if before is not None else 0
        after = _interval(state, entry.time, days, tz)
        ms = int(entry.time.timestamp() * 1000)
        rows.append(
            (ms, entry.rating, after, last, _shifted(state.difficulty), kind, min(entry.duration_ms, 60_000))
        )
    return rows


# --- the package ----------------------------------------------------------------------------


def export(
    root: Path, notes: list, deck, out: Path, deck_name: str, tags: list[str] | None
) -> tuple[int, int]:
    """Every card of the notes (those with one of ``tags``, when given) as an Anki note in
    ``out``, with its schedule and reviews from ``deck`` (the same notes'); (cards, notes) written."""
    import genanki

    from attnkb import frontmatter
    from attnkb.cards import note_answer
    from attnkb.files import output_root, replacing
    from attnkb.srs.cards import cards_for
    from attnkb.vault import read_text

    root = root.resolve()
    md = _renderer()
    model = genanki.Model(
        MODEL_ID,
        MODEL_NAME,
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Source"}],
        templates=[
            {
                "name": "Card",
                "qfmt": "{{Question}}",
                "afmt": '{{FrontSide}}<hr id=answer>{{Answer}}<div class="source">{{Source}}</div>',
            }
        ],
        css=CSS,
    )
    anki_deck = genanki.Deck(deck_id(deck_name), deck_name)
    media: dict[str, Path] = {}
    now = deck.now
    stamp = EXPORT_TAG + now.strftime("%Y-%m-%d_%H%M%S")
    chosen = [n for n in notes if not tags or n.has_tags(tags)]
    states: dict[str, Memory | None] = {}
    count = 0
    for note in chosen:
        note_dir = (root / note.path).parent
        for card in cards_for(note):
            answer = card.answer
            if card.kind == "note":
                answer = note_answer(frontmatter.split(read_text(root, note.path)).body)
            q = _media_in(md.render(card.question), note_dir, root, media)
            a = _media_in(md.render(answer), note_dir, root, media)
            source = html.escape(f"{note.title} · {note.path}")
            note_tags = [re.sub(r"\s+", "_", t) for t in note.tags] + [
                "attnkb::" + re.sub(r"\s+", "_", note.path),
                stamp,
            ]
            guid = genanki.guid_for(note.path, card.id)
            anki_deck.add_note(genanki.Note(model, [q, a, source], tags=note_tags, guid=guid))
            item = deck.items.get((note.path, card.id))
            states[guid] = item.memory if item is not None else None
            count += 1
    package = genanki.Package(anki_deck, media_files=[str(p) for p in media.values()])
    with replacing(out, output_root(out, root)) as f:  # a temp name no one can plant a link at
        _write(package, f, states, deck, now)
    return count, len(chosen)


def _write(package, target: BinaryIO, states: dict[str, Memory | None], deck, now: datetime) -> None:
    """genanki's collection, then each card's schedule and reviews, zipped with the media."""
    import itertools
    import os

    config = deck.config
    tz = now.tzinfo
    days = package_days(list(states.values()), now, config.day_starts_at)

    def steps_of(phase: str):
        return config.relearning_steps if phase == RELEARNING else config.learning_steps

    with tempfile.TemporaryDirectory(prefix="attnkb-export-") as tmp:
        db_path = Path(tmp) / "collection.anki2"
        db = sqlite3.connect(db_path)
        try:
            package.write_to_db(db.cursor(), now.timestamp(), itertools.count(int(now.timestamp() * 1000)))
            (conf,) = db.execute("SELECT conf FROM col").fetchone()
            settings = json.loads(conf) | {
                "schedVer": 2,
                "rollover": days.rollover,
                "creationOffset": days.creation_offset,
            }
            db.execute("UPDATE col SET crt = ?, conf = ?", (days.crt, json.dumps(settings)))
            used: set[int] = set()
            for guid, memory in states.items():
                (cid,) = db.execute(
                    "SELECT cards.id FROM cards JOIN notes ON notes.id = cards.nid WHERE notes.guid = ?",
                    (guid,),
                ).fetchone()
                row = card_row(memory, days, tz, steps_of, config.desired_retention)
                if row is not None:
                    db.execute(
                        "UPDATE cards SET type=?, queue=?, due=?, ivl=?, factor=?, reps=?, lapses=?, left=?, data=?"
                        " WHERE id = ?",
                        (
                            row.type,
                            row.queue,
                            row.due,
                            row.ivl,
                            row.factor,
                            row.reps,
                            row.lapses,
                            row.left,
                            row.data,
                            cid,
                        ),
                    )
                for ms, ease, ivl, last, factor, kind, taken in revlog_rows(memory, deck.sched, days, tz):
                    while ms in used:  # revlog ids are unique: two reviews in one millisecond
                        ms += 1
                    used.add(ms)
                    db.execute(
                        "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)",
                        (ms, cid, ease, ivl, last, factor, taken, kind),
                    )
            db.commit()
        finally:
            db.close()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(db_path, "collection.anki2")
            files = dict(enumerate(package.media_files))
            zf.writestr("media", json.dumps({str(i): os.path.basename(p) for i, p in files.items()}))
            for i, p in files.items():
                zf.write(p, str(i))
