"""How much of a schedule survives the move into attnkb: cards, reviews and due dates.

    python benchmarks/carry_over.py DECK.apkg|DECK.colpkg   # an Anki package
    python benchmarks/carry_over.py VAULT [--now ISO]        # a vault's own front matter schedule

For a package: imports it into a temporary vault and compares every Anki card with the attnkb
card it became (reviews kept, due day equal to Anki's). For a vault (copied first, never
touched): compares each note's ``next_review``/``review_count`` with what ``due --markdown``
shows and the date attnkb schedules its cards on.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from attnkb import clock
from attnkb.srs.config import load
from attnkb.srs.deck import Deck
from attnkb.vault import STATE_DIR, Index


def package(path: Path) -> None:
    from attnkb.interop.anki import plan_import, usable_history, write_import
    from attnkb.interop.anki_schedule import card_due

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / STATE_DIR).mkdir()
        report, plans, col = plan_import(path, root, root / "anki", None)
        write_import(path, root, plans, col, report)
        deck = Deck(root, Index(root).notes(), load(root / STATE_DIR), clock.now())
        usable = sum(len(usable_history([r for r in col.revlog if r.card == c.id])) for c in col.cards)
        tz = deck.now.tzinfo
        scheduled = [c for c in col.cards if card_due(c.type, c.queue, c.due, col.days, tz) is not None]
        logged = sum(1 for i in deck.items.values() if i.memory for e in i.memory.history if e.is_review)
        due_days = {}
        for entry in report.entries:
            if entry.start is not None:
                due_days[(entry.path, entry.card)] = entry.start.due.astimezone(deck.now.tzinfo).date()
        same = sum(
            1 for key, day in due_days.items() if key in deck.items and deck.items[key].due.date() == day
        )
        print(f"Anki cards: {len(col.cards)}, imported as cards: {len(deck.items)} ({report.cards} mapped)")
        print(f"usable reviews in revlog: {usable} of {len(col.revlog)} rows; in the attnkb log: {logged}")
        print(f"scheduled cards: {len(scheduled)}; due day equal to Anki's: {same}")
        print(f"skipped: {len(report.skipped)}")


def vault(path: Path, now: str | None) -> None:
    from attnkb.interop.checklist import render, review_count

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "vault"
        shutil.copytree(path, root, ignore=shutil.ignore_patterns(".attnkb"))
        notes = Index(root).notes()
        moment = clock.parse_instant(now) if now else clock.now()
        deck = Deck(root, notes, load(root / STATE_DIR), moment)
        planned = [n for n in notes if n.date_field("next_review")]
        reviewed = [n for n in planned if (review_count(n) or 0) > 0]
        kept = 0
        for n in reviewed:
            items = [i for i in deck.items.values() if i.card.path == n.path]
            if items and all(deck.study_day(i.due) == n.date_field("next_review") for i in items):
                kept += 1
        fresh = [n for n in planned if not review_count(n)]
        new_cards = sum(1 for i in deck.items.values() if i.is_new)
        text = render(deck, root, None)
        print(f"notes: {len(notes)}, cards: {len(deck.items)}, with next_review: {len(planned)}")
        print(f"reviewed before (review_count > 0): {len(reviewed)}; every card due on next_review: {kept}")
        print(
            f"never reviewed (review_count 0): {len(fresh)}; new cards in the vault: {new_cards},"
            f" {deck.config.new_per_day} introduced a day"
        )
        print(f"reviews so far (sum of review_count): {sum(review_count(n) or 0 for n in notes)}")
        print(f"checklist on {moment.date()}: {text.count('- [ ] [')} notes to tick")
        for line in text.splitlines():
            if line.startswith("## "):
                print("  " + line[3:])


def main() -> None:
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    target = Path(args[0])
    if target.is_dir():
        vault(target, args[2] if len(args) > 2 and args[1] == "--now" else None)
    else:
        package(target)


if __name__ == "__main__":
    main()
