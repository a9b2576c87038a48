"""Anki itself, driven over simulated days: run as ``python tests/anki_sim.py COMMAND OUT``
under libfaketime (``LD_PRELOAD``, ``FAKETIME_TIMESTAMP_FILE``, ``FAKETIME_NO_CACHE=1``), which
moves the clock of Anki's Rust backend as well as Python's: this script writes the fake time into
that file before each study day. ``TZ`` sets the zone Anki counts days in.

``review OUT``: a collection with FSRS on, notes of every kind (Basic, reversed, cloze with
MathJax, media, Chinese) reviewed by Anki's scheduler day by day, some cards left in learning
and relearning at the end; then exported in each package format, with ``truth.json``: every
card as Anki holds it, its due instant by Anki's own day cutoff, and the next state of each
grade.

``import OUT PACKAGE``: a fresh collection (FSRS on) imports PACKAGE with scheduling, as a user
moving to Anki would; ``imported.json`` holds each card's fields, due instant and memory.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from anki.collection import Collection, ExportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageOptions

START = "2026-01-05 09:00:00"  # local time, in TZ
DAYS = 40
DAY_SECS = 86_400


def set_clock(text: str) -> None:
    with open(os.environ["FAKETIME_TIMESTAMP_FILE"], "w") as f:
        f.write(f"@{text}\n")


def clock_at(day: int, hour: int = 9) -> str:
    from datetime import datetime, timedelta

    base = datetime.fromisoformat(START.replace(" ", "T"))
    return (base + timedelta(days=day)).replace(hour=hour).strftime("%Y-%m-%d %H:%M:%S")


def fsrs_on(col: Collection) -> None:
    col.set_config("fsrs", True)


def add_notes(col: Collection) -> None:
    media = Path(col.media.dir()) / "attention.png"
    media.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    models = col.models
    deck = col.decks.id("ML::Attention")
    items = [
        ("Basic", ["What does softmax do?", "Turns scores into a distribution"]),
        ("Basic", ["Why scale by \\(\\sqrt{d_k}\\)?", "Keeps the dot products' variance near 1"]),
        ("Basic", ["注意力机制是什么？", "对值的加权求和"]),
        ("Basic", ['The figure <img src="attention.png">', "Scaled dot-product attention"]),
        ("Basic", ["What is multi-head attention?", "Several attentions in parallel, concatenated"]),
        ("Basic (and reversed card)", ["Query", "What a token looks for"]),
        ("Cloze", ["The {{c1::query}} meets the {{c2::key \\(QK^T\\)}}.", ""]),
        ("Basic", ["Causal mask", "Hides the future positions"]),
        ("Basic", ["KV cache", "Keeps keys and values of earlier tokens"]),
        ("Basic", ["Positional encoding", "Adds order to a set"]),
    ]
    later = col.decks.id("ML::Later")
    preset = col.decks.add_config_returning_id("no new cards")
    config = col.decks.get_config(preset)
    config["new"]["perDay"] = 0
    col.decks.update_config(config)
    later_deck = col.decks.get(later)
    later_deck["conf"] = preset
    col.decks.save(later_deck)
    items.append(("Basic", ["Never studied", "stays new"]))
    for number, (kind, fields) in enumerate(items):
        note = col.new_note(models.by_name(kind))
        for i, value in enumerate(fields):
            note.fields[i] = value
        note.tags = ["transformer"]
        col.add_note(note, later if number == len(items) - 1 else deck)
    col.decks.select(col.decks.id("ML"))  # studied from the parent deck: both subdecks' cards


def rating(card, day: int) -> int:
    """A fixed pattern: mostly Good, some Hard, Again and Easy, varying by card and day."""
    import zlib

    pattern = (3, 3, 2, 3, 1, 3, 4, 3, 3, 2, 3, 3, 1)
    seed = zlib.crc32(card.note().fields[0].encode())  # not the ids: they come from the clock
    return pattern[(card.ord * 5 + seed % 7 + day + card.reps) % len(pattern)]


def answer(col: Collection, card_id: int, ease: int) -> None:
    card = col.get_card(card_id)
    card.start_timer()
    col.sched.answerCard(card, ease)


def review_day(col: Collection, day: int) -> None:
    """Every card Anki shows today, learning steps included (the clock is moved past each
    step's due time), until the queue is empty."""
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(clock_at(day).replace(" ", "T"))
    for _ in range(500):
        set_clock(moment.strftime("%Y-%m-%d %H:%M:%S"))
        queued = col.sched.get_queued_cards(fetch_limit=1)
        if not queued.cards:
            break
        card = col.get_card(queued.cards[0].card.id)
        answer(col, card.id, rating(card, day))
        card.load()
        if card.queue == 1:  # a learning step: come back when it is due
            moment = max(moment + timedelta(seconds=20), datetime.fromtimestamp(card.due))
        else:
            moment += timedelta(seconds=20)


def last_day(col: Collection, end: str) -> None:
    """The day the collection is exported: the first review card lapses (Again: relearning),
    new cards take their first step (Good: learning), and both are left in their steps."""
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(end.replace(" ", "T"))
    set_clock(end)
    note = col.new_note(col.models.by_name("Basic"))
    note.fields[0], note.fields[1] = "Added on the last day", "a learning card"
    col.add_note(note, col.decks.id("ML::Attention"))
    config = col.decks.config_dict_for_deck_id(col.decks.id("ML::Attention"))
    config["newMix"] = 2  # new cards before reviews: the new card first, then one lapse
    col.decks.update_config(config)
    for _ in range(20):
        set_clock(moment.strftime("%Y-%m-%d %H:%M:%S"))
        queued = col.sched.get_queued_cards(fetch_limit=1)
        if not queued.cards:
            break
        card = col.get_card(queued.cards[0].card.id)
        if card.type not in (0, 2):
            break  # only cards in their steps are left: they stay there
        answer(col, card.id, 3 if card.type == 0 else 1)
        moment += timedelta(seconds=20)
        if card.type == 2:
            break  # the other cards due today stay due
    set_clock(moment.strftime("%Y-%m-%d %H:%M:%S"))


def next_states(col: Collection, card_id: int) -> dict[str, dict]:
    states = col._backend.get_scheduling_states(card_id)
    out = {}
    for name in ("again", "hard", "good", "easy"):
        normal = getattr(states, name).normal
        kind = normal.WhichOneof("kind")
        inner = getattr(normal, kind)
        if kind == "review":
            out[name] = {"kind": kind, "days": inner.scheduled_days, "s": inner.memory_state.stability}
        else:
            secs = inner.learning.scheduled_secs if kind == "relearning" else inner.scheduled_secs
            out[name] = {"kind": kind, "secs": secs}
    return out


def card_truth(col: Collection, card_id: int) -> dict:
    card = col.get_card(card_id)
    note = card.note()
    today, cutoff = col.sched.today, col.sched.day_cutoff
    if card.queue in (1, 4):
        due_at = card.due
    elif card.type == 0:
        due_at = None
    else:  # Anki's own day cutoff: today ends at ``cutoff``; day ``due`` starts that many days later
        due_at = cutoff + (card.due - today - 1) * DAY_SECS
    memory = card.memory_state
    return {
        "id": card.id,
        "nid": card.nid,
        "guid": note.guid,
        "ord": card.ord,
        "fields": list(note.fields),
        "tags": list(note.tags),
        "type": card.type,
        "queue": card.queue,
        "due": card.due,
        "due_at": due_at,
        "ivl": card.ivl,
        "left": card.left,
        "reps": card.reps,
        "stability": memory.stability if memory else None,
        "difficulty": memory.difficulty if memory else None,
        "revlog": len(col.db.list("select id from revlog where cid = ?", card.id)),
    }


def review(out: Path) -> None:
    from datetime import datetime

    set_clock(clock_at(0))
    (out / "anki").mkdir(exist_ok=True)
    col = Collection(str(out / "anki" / "collection.anki2"))
    fsrs_on(col)
    add_notes(col)
    cards = sorted(col.find_cards(""))
    for day in range(DAYS):
        review_day(col, day)
    # a few days off, until three review cards are overdue: one lapses, two stay overdue
    dues = sorted(col.get_card(c).due for c in cards if col.get_card(c).queue == 2)
    end = clock_at(max(DAYS, dues[2] + 1), 10)
    last_day(col, end)
    cards = sorted(col.find_cards(""))
    import time

    truth = {
        "now_ts": time.time(),
        "now": datetime.fromisoformat(end.replace(" ", "T")).astimezone().isoformat(),
        "crt": col.crt,
        "today": col.sched.today,
        "day_cutoff": col.sched.day_cutoff,
        "cards": [card_truth(col, c) | {"next": next_states(col, c)} for c in cards],
    }
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1))
    for legacy in (False, True):
        name = f"deck-{'legacy' if legacy else 'latest'}.apkg"
        col.export_anki_package(
            out_path=str(out / name),
            options=ExportAnkiPackageOptions(
                with_scheduling=True, with_media=True, with_deck_configs=True, legacy=legacy
            ),
            limit=None,
        )
    col.export_collection_package(str(out / "collection-latest.colpkg"), include_media=True, legacy=False)
    col = Collection(str(out / "anki" / "collection.anki2"))
    col.export_collection_package(str(out / "collection-legacy.colpkg"), include_media=True, legacy=True)
    twins(out, cards)


def twins(out: Path, cards: list[int]) -> None:
    """Each card graded Good by Anki right after the export, as an imported twin would be: what
    Anki stores (its rounded memory) and when the card is due next. A freshly opened collection
    has no queue built yet, so any card may be answered."""
    import time

    col = Collection(str(out / "anki" / "collection.anki2"))
    at = time.time()
    graded = {}
    for cid in cards:
        answer(col, cid, 3)
        graded[str(cid)] = card_truth(col, cid)
    (out / "twins.json").write_text(json.dumps({"at": at, "cards": graded}, indent=1))
    col.close()


def import_package(out: Path, package: Path, when: str) -> None:
    set_clock(when)
    folder = out / "target"
    folder.mkdir(exist_ok=True)
    col = Collection(str(folder / "collection.anki2"))
    fsrs_on(col)
    results = []
    for path in [package, *sys.argv[5:]]:
        log = col.import_anki_package(
            ImportAnkiPackageRequest(
                package_path=str(path),
                options=ImportAnkiPackageOptions(with_scheduling=True),  # notes: updated if newer
            )
        )
        results.append(
            {
                "new": len(log.log.new),
                "updated": len(log.log.updated),
                "duplicate": len(log.log.duplicate),
            }
        )
    cards = [card_truth(col, c) for c in sorted(col.find_cards(""))]
    media = sorted(os.listdir(col.media.dir()))
    data = {"imports": results, "notes": col.note_count(), "cards": cards, "media": media}
    if os.environ.get("ANKI_SEARCH"):  # the GUIDs of the notes an Anki search finds
        data["search"] = sorted(col.get_note(n).guid for n in col.find_notes(os.environ["ANKI_SEARCH"]))
    (out / "imported.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    target.mkdir(parents=True, exist_ok=True)
    if command == "review":
        review(target)
    else:
        import_package(target, Path(sys.argv[3]), sys.argv[4])
