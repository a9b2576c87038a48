"""attnkb against Anki itself: the ``anki`` package (Anki's Rust backend with its Python API)
reviews, exports and imports; attnkb reads what it wrote and writes what it reads.

Anki runs in a subprocess (tests/anki_sim.py) under libfaketime, which moves the clock of its
Rust backend: a collection is reviewed by Anki's own scheduler over some 50 simulated days in
UTC+8, with FSRS on. These tests skip when ``anki`` or libfaketime is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
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


def _fuzz_delta(days: float) -> float:
    """rslib fuzz.rs: 15 % of the days from 2.5 to 7, 10 % to 20, 5 % beyond, plus a day."""
    if days < 2.5:
        return 0.0
    return 1.0 + sum(
        f * max(min(days, end) - start, 0)
        for start, end, f in ((2.5, 7, 0.15), (7, 20, 0.1), (20, 1e9, 0.05))
    )


def _anki_range(days: int, previous: int, floor: int) -> tuple[int, int]:
    """Where Anki's fuzzed interval may fall when its unfuzzed one is ``days`` (ours): at least
    the previous scheduled interval (+1 when the new one is longer, rslib
    minimum_review_fuzz_interval) and ``floor`` (Anki's own fuzzed interval of the grade below
    + 1), then the fuzz range; a day of slack each way for the rounding of the interval."""
    delta = _fuzz_delta(days)
    if days > previous:
        minimum = previous + 1
    elif previous <= round(days + delta):
        minimum = previous
    else:
        minimum = 0
    minimum = max(minimum, floor, 1)
    center = max(days, minimum)
    delta = _fuzz_delta(center)
    low, high = max(round(center - delta), minimum), max(round(center + delta), minimum)
    if high == low and high > 2:
        high += 1
    return low - 1, high + 1


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
    cloze = root / "anki" / "The query meets the key QKᵀ.md"  # a readable name, a plain-text title
    assert 'title: "The query meets the key QKᵀ."' in cloze.read_text(encoding="utf-8")
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
        previous, floor = anki["ivl"] if anki["type"] == 2 else 0, 1
        for rating, name in enumerate(("again", "hard", "good", "easy"), 1):
            theirs, ours = anki["next"][name], options[rating]
            assert ours.phase == theirs["kind"], f"{what}: {name}"
            if theirs["kind"] == "review":
                low, high = _anki_range(ours.interval, previous if rating > 1 else 0, floor)
                floor = theirs["days"] + 1 if rating > 1 else floor
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


EXPORT_NOTES = {
    "attention.md": "---\ntags: [ml]\n---\n# Attention\n\n### Q: What scales the scores?\n\n"
    "$\\sqrt{d_k}$, see ![](fig.png)\n\n### Q: What does softmax do?\n\nTurns scores into weights\n",
    "注意力.md": "# 注意力\n\n### Q: 注意力机制是什么？\n\n对值的加权求和\n",
    "mask.md": "# Causal mask\n\n### Q: What does a causal mask hide?\n\nThe future positions\n",
    "kv.md": "# KV cache\n\n### Q: What does a KV cache keep?\n\nKeys and values of earlier tokens\n",
    "heads.md": "# Heads\n\n### Q: Why several heads?\n\nSeveral subspaces at once\n",
    "later.md": "# Later\n\n### Q: Never reviewed?\n\nStays new\n",
    "fig.png": b"\x89PNG\r\n\x1a\n attention figure",
}
EXPORT_START = datetime.fromisoformat("2026-01-05T09:00:00+08:00")


def _review_in_attnkb(root: Path) -> datetime:
    """Thirty days of reviews graded through attnkb's deck; three days later one card lapses
    (relearning), others stay overdue. The moment it ends."""
    pattern = (3, 3, 2, 3, 1, 3, 4, 3, 3, 2, 3)
    for day in range(30):
        when = EXPORT_START + timedelta(days=day)
        deck = _deck(root, when)
        for n, item in enumerate(deck.queue(None, None, None)):
            if item.card.path == "later.md":
                continue
            deck.grade(item, pattern[(day + n) % len(pattern)], when + timedelta(seconds=n), 5000)
    end = EXPORT_START + timedelta(days=33, hours=1)
    deck = _deck(root, end)
    review = next(i for i in deck.due_items() if not i.memory.learning)
    deck.grade(review, 1, end, 4000)
    return end + timedelta(seconds=30)


def test_export_imports_into_anki_with_attnkb_due_dates_memory_and_history(
    make_vault, cli, tmp_path, monkeypatch
):
    root = make_vault({**EXPORT_NOTES, ".attnkb/config.toml": ""})
    notes = dict(EXPORT_NOTES)
    # a note added on the last day: its first card is in its learning steps at the export
    now = _review_in_attnkb(root)
    (root / "late.md").write_text("# Late\n\n### Q: Added on the last day?\n\nLearning\n", encoding="utf-8")
    deck = _deck(root, now)
    late = next(i for i in deck.items.values() if i.card.path == "late.md")
    deck.grade(late, 3, now, 3000)
    now += timedelta(seconds=10)
    monkeypatch.setenv("ATTNKB_NOW", now.isoformat())
    package = tmp_path / "attnkb.apkg"
    exported = cli("--vault", root, "export", "anki", package, "--deck", "attnkb")
    assert exported.exit_code == 0, exported.output
    listed = cli("--vault", root, "due", "--json")
    assert listed.exit_code == 0, listed.output
    shown = {(e["path"], e["card"]): e for group in json.loads(listed.output).values() for e in group}

    import genanki

    from attnkb.srs.memory import anki_rounding

    deck = _deck(root, now)
    ours = {genanki.guid_for(i.card.path, i.card.id): i for i in deck.items.values()}

    # edit an answer and a question, export again: Anki updates the one note, adds the other
    (root / "kv.md").write_text(
        notes["kv.md"].replace("earlier tokens", "all earlier tokens"), encoding="utf-8"
    )
    (root / "heads.md").write_text(notes["heads.md"].replace("Why several", "Why many"), encoding="utf-8")
    later = now + timedelta(minutes=1)  # Anki updates notes newer than its own
    monkeypatch.setenv("ATTNKB_NOW", later.isoformat())
    again = tmp_path / "again.apkg"
    assert cli("--vault", root, "export", "anki", again, "--deck", "attnkb").exit_code == 0
    search = f"tag:attnkb::* -tag:attnkb::export::{later:%Y-%m-%d_%H%M%S}"  # README's search for strays
    monkeypatch.setenv("ANKI_SEARCH", search)
    when = now.strftime("%Y-%m-%d %H:%M:%S")
    run_anki(tmp_path, "import", str(tmp_path / "anki"), str(package), when, str(again))
    got = json.loads((tmp_path / "anki" / "imported.json").read_text(encoding="utf-8"))

    assert got["imports"][0]["new"] == len(ours) == 8 and got["imports"][0]["duplicate"] == 0
    assert got["imports"][1]["new"] == 1 and got["imports"][1]["updated"] >= 1  # the edited question
    assert got["notes"] == len(ours) + 1 and len(got["cards"]) == len(ours) + 1  # nothing duplicated
    assert got["media"] == ["fig.png"]
    stray = genanki.guid_for("heads.md", next(i.card.id for i in ours.values() if i.card.path == "heads.md"))
    assert got["search"] == [stray]  # the old version of the edited question, and only it
    phases = set()
    for card in got["cards"]:
        if card["guid"] not in ours:
            assert "Why many heads?" in card["fields"][0] and card["type"] == 0
            continue
        item = ours.pop(card["guid"])  # GUIDs stable across both exports
        what = f"{item.card.path}: {item.card.question}"
        assert item.card.question in card["fields"][0] or "sqrt" in card["fields"][1], what
        export = later if card["guid"] != stray else now  # the stray keeps the first export's tag
        assert f"attnkb::export::{export:%Y-%m-%d_%H%M%S}" in card["tags"], what
        if item.card.path == "kv.md":
            assert "all earlier tokens" in card["fields"][1], what  # the re-export updated it
        if item.is_new:
            assert card["type"] == 0, what
            continue
        memory = item.memory
        phases.add(memory.phase)
        assert card["type"] == {"learning": 1, "review": 2, "relearning": 3}[memory.phase], what
        assert card["due_at"] == int(item.due.timestamp()), what  # Anki shows the day (or minute) we do
        kept = anki_rounding(memory.stability, memory.difficulty)  # what Anki stores of it
        assert (card["stability"], card["difficulty"]) == pytest.approx(kept, rel=1e-7), what
        assert card["revlog"] == sum(1 for e in memory.history if e.is_review), what
        entry = shown.get((item.card.path, item.card.question))
        if entry is not None:  # due --json lists what falls due within a week
            assert datetime.fromisoformat(entry["due"]).timestamp() == card["due_at"], what
            shown_memory = anki_rounding(entry["stability"], entry["difficulty"])
            assert shown_memory == pytest.approx((card["stability"], card["difficulty"]), rel=1e-7), what
    assert not ours
    assert phases == {"learning", "review", "relearning"}
