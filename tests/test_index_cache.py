"""What the index keeps so that commands need not parse or decode whole notes: each note's cards
(for due, review and stats), check findings per note, and the vault's incoming link counts.
Each must equal what parsing the notes gives, and be refreshed when a note changes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb import checks
from attnkb.note import parse_note
from attnkb.srs.cards import DeckNote, cards_for
from attnkb.srs.config import ReviewConfig
from attnkb.srs.deck import Deck
from attnkb.vault import Index

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

# the pieces cards are made of, and text around them that must not become cards
LINE = st.sampled_from(
    [
        "### Q: 什么是注意力？",
        "### Q: What is attention?",
        "## Q1: 复杂度？",
        "**Q: 缩放因子？**",
        "**Q2. Why scale?**",
        "A: 除以根号 d。",
        "A: O(n²)",
        "**标准回答：**",
        "term :: definition",
        "`a :: b` is code",
        "# Heading",
        "## Section",
        "```",
        "```python",
        "x = 1  # ### Q: not a card",
        "plain text with [[a link]] and [md](b.md)",
        "",
        "---",
        "- item",
        "> quote ### Q: no",
    ]
)
FREE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
BODY = st.lists(st.one_of(LINE, FREE), max_size=25).map("\n".join)
FRONT = st.sampled_from(
    ["", "---\ntitle: T\ntags: [a, b/c]\n---\n", "---\nreview_count: 2\nnext_review: 2026-11-01\n---\n"]
)


def _write(root, rel: str, text: str) -> None:
    path = root / rel
    path.write_text(text, encoding="utf-8", newline="")
    # a different mtime whatever the file system's resolution, as an edit minutes later has
    stamp = path.stat().st_mtime_ns + 60_000_000_000
    os.utime(path, ns=(stamp, stamp))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(front=FRONT, body=BODY)
def test_index_kept_cards_equal_the_cards_parsed_from_the_note(tmp_path, front, body):
    root = tmp_path / "v"
    (root / ".attnkb").mkdir(parents=True, exist_ok=True)
    text = front + body
    _write(root, "n.md", text)
    parsed = parse_note("n.md", text.encode())
    for _ in range(2):  # parsed now, then read back from the cache
        (kept,) = Index(root).deck_notes()
        expected = DeckNote.of(parsed)
        assert [(c.id, c.kind, c.question, c.line) for c in kept.cards] == [
            (c.id, c.kind, c.question, c.line) for c in expected.cards
        ]
        assert all(c.answer is None for c in kept.cards)  # answers are read when shown
        assert (kept.title, kept.tags, kept.meta, kept.links, kept.fingerprint) == (
            expected.title,
            expected.tags,
            expected.meta,
            expected.links,
            expected.fingerprint,
        )
        (whole,) = Index(root).notes()
        assert whole == parsed  # the whole note (answers joined back) is the parsed note
    deck = Deck(root, [kept], ReviewConfig(), NOW)
    for item, card in zip(deck.items.values(), cards_for(parsed), strict=True):
        if card.kind != "note":
            assert deck.answer(item) == card.answer
    assert deck.notices == []


def test_a_stale_cache_is_refreshed_for_due_and_review(make_vault, cli):
    root = make_vault({".attnkb/config.toml": "", "n.md": "# N\n\n### Q: first?\nold answer\n"})
    (before,) = Index(root).deck_notes()
    assert [c.question for c in before.cards] == ["first?"]
    _write(root, "n.md", "# N\n\n### Q: second?\nnew answer\n\n### Q: third?\nmore\n")
    (after,) = Index(root).deck_notes()
    assert [c.question for c in after.cards] == ["second?", "third?"]
    due = json.loads(cli("--vault", root, "due", "--json").stdout)
    assert [g["card"] for g in due["new"]] == ["second?", "third?"]
    deck = Deck(root, [after], ReviewConfig(), NOW)
    assert deck.answer(deck.by_path["n.md"][0]) == "new answer"


def test_an_answer_whose_question_is_gone_is_a_notice_not_a_crash(make_vault):
    root = make_vault({".attnkb/config.toml": "", "n.md": "# N\n\n### Q: asked?\nanswer\n"})
    deck = Deck(root, Index(root).deck_notes(), ReviewConfig(), NOW)
    _write(root, "n.md", "# N\n\n### Q: reworded?\nanswer\n")
    assert deck.answer(deck.by_path["n.md"][0]) == ""
    assert "no longer holds this question" in deck.notices[0]


BAD_BLOCK = "```attention\nop: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.9, 0.1]]\n```\n"
GOOD_BLOCK = "```attention\nop: softmax\nscores: [[0, 0]]\nexpect:\n  weights: [[0.5, 0.5]]\n```\n"


def test_check_reuses_kept_findings_and_recomputes_a_changed_note(make_vault, cli, monkeypatch):
    root = make_vault(
        {".attnkb/config.toml": "", "a.md": "# A\n\n[[b]]\n" + BAD_BLOCK, "b.md": "# B\n\n[[a]]\n"}
    )
    first = cli("--vault", root, "check", "--json")
    assert first.exit_code == 1
    kinds = [p["kind"] for p in json.loads(first.stdout)["problems"]]
    assert kinds == ["example-fail"]

    def no_work(root, note):
        raise AssertionError(f"{note.path} was checked again")

    monkeypatch.setattr(checks, "_note_findings", no_work)
    again = cli("--vault", root, "check", "--json")
    assert again.exit_code == 1 and again.stdout == first.stdout  # every note from the cache
    monkeypatch.undo()

    _write(root, "a.md", "# A\n\n[[b]]\n" + GOOD_BLOCK)
    fixed = cli("--vault", root, "check", "--json")
    assert fixed.exit_code == 0 and json.loads(fixed.stdout)["problems"] == []


def test_check_findings_are_not_reused_by_other_code(make_vault, cli, monkeypatch):
    root = make_vault({".attnkb/config.toml": "", "a.md": "# A\n\n" + BAD_BLOCK})
    assert cli("--vault", root, "check").exit_code == 1
    calls = []
    real = checks._note_findings
    monkeypatch.setattr(
        checks, "_note_findings", lambda root, note: calls.append(note.path) or real(root, note)
    )
    monkeypatch.setattr(checks, "_version", lambda root: "another version")
    assert cli("--vault", root, "check").exit_code == 1
    assert calls == ["a.md"]


def test_new_card_order_follows_edited_links(make_vault, cli):
    config = '[review]\nnew_order = "links"\n'
    root = make_vault(
        {
            ".attnkb/config.toml": config,
            "a.md": "# A\n\n[[c]]\n",
            "b.md": "# B\n\n[[c]]\n",
            "c.md": "# C\n",
        }
    )

    def order() -> list[str]:
        result = cli("--vault", root, "due", "--json")
        assert result.exit_code == 0, result.output
        return [g["path"] for g in json.loads(result.stdout)["new"]]

    assert order() == ["c.md", "a.md", "b.md"]
    assert order() == ["c.md", "a.md", "b.md"]  # from the kept counts
    _write(root, "a.md", "# A\n\n[[b]]\n")
    _write(root, "c.md", "# C\n\n[[b]]\n")
    assert order() == ["b.md", "c.md", "a.md"]


def test_due_stats_and_review_never_decode_whole_notes(make_vault, cli, monkeypatch):
    from attnkb import vault

    root = make_vault({".attnkb/config.toml": "", "n.md": "# N\n\n### Q: asked?\nthe answer\n"})

    def whole(self, *args, **kwargs):
        raise AssertionError("whole notes decoded")

    monkeypatch.setattr(vault.Index, "notes", whole)
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00", "ATTNKB_DEVICE": "t"}
    assert cli("--vault", root, "due", "--json", env=env).exit_code == 0
    assert cli("--vault", root, "stats", "--json", env=env).exit_code == 0
    session = cli("--vault", root, "review", input="\n3\n", env=env)
    assert session.exit_code == 0, session.output
    assert "the answer" in session.stdout  # read from the note when shown
    stats = json.loads(cli("--vault", root, "stats", "--json", env=env).stdout)
    assert stats["reviews"] == 1


def test_a_large_refresh_in_worker_processes_stores_what_one_process_stores(
    make_vault, monkeypatch, tmp_path
):
    """Over PARALLEL_THRESHOLD changed notes are parsed by worker processes, which send their rows
    as UTF-8 bytes and run below the process writing the index: the cache they fill holds the
    same rows, full text included, as one process parsing every note, and is found by search."""
    import sqlite3

    from attnkb import search, vault

    files = {
        f"d{i % 3}/n{i}.md": f"---\ntags: [t{i % 4}, 标签]\n---\n# 笔记 {i} “é”\n\n### Q: 问题 {i}？\n\n"
        f"答案 [[n{(i + 1) % 90}]] 注意力 attention\n"
        for i in range(90)
    }
    files["d0/bad.md"] = "---\ntitle: [unclosed\n---\n# x\n"
    real_chunk = vault._parse_chunk
    seen = tmp_path / "niceness"

    def chunk(root, stats, max_bytes):
        with open(seen, "a") as f:
            f.write(f"{os.getpid()} {os.nice(0)}\n")
        return real_chunk(root, stats, max_bytes)

    def rows(root):
        db = sqlite3.connect(root / ".attnkb" / "index.sqlite")
        try:
            notes = db.execute(f"SELECT {', '.join(vault.COLUMNS)} FROM notes ORDER BY path").fetchall()
            fts = db.execute(
                f"SELECT p.path, {search._COLS} FROM {search.TABLE} f JOIN {search.PATHS} p ON p.id = f.rowid"
                " ORDER BY p.path"
            ).fetchall()
            return [r[:2] + r[3:] for r in notes], fts  # mtimes differ between the two copies
        finally:
            db.close()

    parallel = make_vault({**files, ".attnkb/.keep": ""})
    serial = make_vault({**files, ".attnkb/.keep": ""})
    # workers are forked from this process: they find the spy under the function's own name
    chunk.__module__, chunk.__qualname__ = real_chunk.__module__, real_chunk.__qualname__
    monkeypatch.setattr(vault, "_parse_chunk", chunk)
    monkeypatch.setattr(vault.os, "cpu_count", lambda: 2)  # workers even on a one-core machine
    summaries = Index(parallel).summaries()
    monkeypatch.setattr(vault, "PARALLEL_THRESHOLD", 10_000)
    workers = [line.split() for line in seen.read_text().splitlines()]
    assert len(workers) == 3 and {pid for pid, _ in workers} != {str(os.getpid())}  # 3 chunks of 32
    assert {int(n) for _, n in workers} == {min(19, os.nice(0) + 5)}
    assert Index(serial).summaries() == summaries and len(summaries) == 91
    assert seen.read_text().count("\n") == 3  # the serial refresh used no worker
    (notes_p, fts_p), (notes_s, fts_s) = rows(parallel), rows(serial)
    assert [r[0] for r in notes_p] == sorted(files) and all(
        isinstance(v, str) for r in notes_p for v in r[3:] if v
    )
    assert notes_p == notes_s and fts_p == fts_s and len(fts_p) == 91
    db = sqlite3.connect(parallel / ".attnkb" / "index.sqlite")
    try:
        assert [h.path for h in search.search(db, "笔记 42")] == ["d0/n42.md"]
    finally:
        db.close()
