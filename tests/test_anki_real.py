"""attnkb against Anki itself: the ``anki`` package (Anki's Rust backend with its Python API)
reviews, exports and imports; attnkb reads what it wrote and writes what it reads.

Anki runs in a subprocess (tests/anki_sim.py) under libfaketime, which moves the clock of its
Rust backend: a collection is reviewed by Anki's own scheduler over some 50 simulated days in
UTC+8, with FSRS on. These tests skip when ``anki`` or libfaketime is not installed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("anki", reason="the anki package is not installed")

FAKETIME_PATHS = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
FAKETIME = next((p for p in FAKETIME_PATHS if os.path.exists(p)), None)
if FAKETIME is None:
    pytest.skip("libfaketime is not installed (apt-get install libfaketime)", allow_module_level=True)

SIM = Path(__file__).with_name("anki_sim.py")
TZ = "CST-8"  # UTC+8 without DST, needs no tzdata: Anki counts days in this zone
PACKAGES = ("deck-latest.apkg", "deck-legacy.apkg", "collection-latest.colpkg", "collection-legacy.colpkg")
PHASES = {0: None, 1: "learning", 2: "review", 3: "relearning"}


def run_anki(folder: Path, *args: str) -> None:
    """tests/anki_sim.py under libfaketime; its clock file lives in ``folder``."""
    clock = folder / "clock"
    clock.write_text("@2026-01-05 09:00:00\n")
    env = dict(
        os.environ,
        LD_PRELOAD=FAKETIME,
        FAKETIME_TIMESTAMP_FILE=str(clock),
        FAKETIME_NO_CACHE="1",
        TZ=TZ,
    )
    done = subprocess.run(
        [sys.executable, str(SIM), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> tuple[Path, dict]:
    """A collection reviewed by Anki for some 50 days, exported in every format, and what Anki says
    about each of its cards at the end."""
    folder = tmp_path_factory.mktemp("anki-reviewed")
    run_anki(folder, "review", str(folder))
    return folder, json.loads((folder / "truth.json").read_text(encoding="utf-8"))


def _deck(root: Path, now: datetime):
    from attnkb.srs.config import load
    from attnkb.srs.deck import Deck
    from attnkb.vault import Index

    return Deck(root, Index(root).notes(), load(root / ".attnkb"), now)


def _pairs(root: Path, deck, truth: dict) -> list[tuple[dict, object]]:
    """(Anki's card, our item): each imported note names its Anki note; its cards are Anki's in
    template order."""
    import re

    by_note: dict[int, list[dict]] = {}
    for card in truth["cards"]:
        by_note.setdefault(card["nid"], []).append(card)
    pairs = []
    for path, items in deck.by_path.items():
        head = (root / path).read_text(encoding="utf-8")
        nid = int(re.search(r"^anki_note_id: (\d+)$", head, re.MULTILINE).group(1))
        cards = sorted(by_note.pop(nid), key=lambda c: c["ord"])
        assert len(cards) == len(items), path
        pairs += list(zip(cards, items, strict=True))
    assert not by_note, f"Anki notes not imported: {sorted(by_note)}"
    return pairs


def _fuzz_bounds(days: int) -> tuple[int, int]:
    """Anki's fuzz range around an unfuzzed interval (rslib fuzz.rs: 15 % from 2.5 to 7 days,
    10 % to 20, 5 % beyond, plus a day), one day of slack for the rounding of the interval."""
    if days < 2.5:
        return days, days
    delta = 1.0
    for start, end, factor in ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, math.inf, 0.05)):
        if days > start:
            delta += factor * (min(days, end) - start)
    return max(2, math.floor(days - delta + 0.5) - 1), math.floor(days + delta + 0.5) + 1


@pytest.mark.parametrize("package", PACKAGES)
def test_anki_reviewed_collection_imports_with_anki_due_phase_memory_and_next_grades(
    package, reviewed, make_vault, cli, monkeypatch
):
    folder, truth = reviewed
    root = make_vault({".attnkb/config.toml": "[review]\nfuzz = false\n"})
    now = datetime.fromtimestamp(truth["now_ts"], UTC).astimezone(datetime.fromisoformat(truth["now"]).tzinfo)
    monkeypatch.setenv("ATTNKB_NOW", now.isoformat())
    result = cli("--vault", root, "import", "anki", folder / package)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    deck = _deck(root, now)
    pairs = _pairs(root, deck, truth)
    assert len(pairs) == len(truth["cards"]) == 14
    phases = {PHASES[c["type"]] for c, _ in pairs}
    assert phases == {None, "learning", "review", "relearning"}  # every kind of card is in the test
    overdue = 0
    for anki, item in pairs:
        what = f"{package}: card {anki['id']} ({item.card.question})"
        if anki["type"] == 0:
            assert item.is_new, what
        else:
            memory = item.memory
            assert memory.phase == PHASES[anki["type"]], what
            assert item.due == datetime.fromtimestamp(anki["due_at"], UTC), what
            assert memory.stability == pytest.approx(anki["stability"], rel=1e-6), what
            assert memory.difficulty == pytest.approx(anki["difficulty"], rel=1e-6), what
            overdue += item.due < deck.day_start(deck.today())
        options = deck.sched.options(item.memory, now, item.card.id)
        for rating, name in enumerate(("again", "hard", "good", "easy"), 1):
            theirs, ours = anki["next"][name], options[rating]
            assert ours.phase == theirs["kind"], f"{what}: {name}"
            if theirs["kind"] == "review":
                low, high = _fuzz_bounds(ours.interval)
                assert low <= theirs["days"] <= high, (
                    f"{what}: {name} {ours.interval} vs Anki {theirs['days']}"
                )
                assert ours.stability == pytest.approx(theirs["s"], rel=2e-4), f"{what}: {name}"
            else:
                secs = (ours.due - now).total_seconds()
                assert secs <= theirs["secs"] <= secs + min(secs * 0.25, 300) + 1, f"{what}: {name}"
    twins = json.loads((folder / "twins.json").read_text(encoding="utf-8"))
    at = datetime.fromtimestamp(twins["at"], UTC).astimezone(now.tzinfo)
    for anki, item in pairs:  # Good now, here and in Anki: the same memory, as Anki stores it
        if anki["type"] == 0:
            continue  # a new card has no memory from Anki yet
        twin, ours = twins["cards"][str(anki["id"])], deck.sched.options(item.memory, at, item.card.id)[3]
        what = f"{package}: card {anki['id']} ({item.card.question}) graded Good"
        assert ours.phase == PHASES[twin["type"]], what
        assert ours.stability == pytest.approx(twin["stability"], rel=1e-7), what
        assert ours.difficulty == pytest.approx(twin["difficulty"], rel=1e-7), what
    assert overdue == sum(1 for c in truth["cards"] if c["type"] == 2 and c["due"] < truth["today"])
    assert overdue >= 1
