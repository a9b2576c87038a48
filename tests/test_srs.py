import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnkb.srs.cards import cards_for
from attnkb.srs.config import ReviewConfig
from attnkb.srs.deck import Deck
from attnkb.srs.log import ReviewLog, parse_line
from attnkb.vault import Index

NOTE = """---
title: Attention
tags: [attn]
next_review: '2026-11-20'   # planned by hand
review_count: 4
---
# Attention

### Q: 什么是注意力？
**标准回答：**
加权求和。

**Q1: 复杂度？**
A: O(n²)。
"""
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def deck(root, now=NOW, config=None):
    return Deck(root, Index(root).notes(), config or ReviewConfig(), now)


def test_py_fsrs_test_vector_through_our_deck(make_vault):
    root = make_vault({"n.md": "# Only\n\n### Q: q?\nA\n"})
    d = deck(root, config=ReviewConfig(fuzz=False), now=datetime(2022, 11, 29, 12, 30, tzinfo=UTC))
    (item,) = d.queue(None, None, None)
    when = datetime(2022, 11, 29, 12, 30, tzinfo=UTC)
    intervals = []
    for rating in [3] * 6 + [1] * 2 + [3] * 5:
        d.grade(item, rating, when, 0)
        intervals.append(item.memory.interval)
        when = item.memory.due
    # every entry of py-fsrs's vector holds: graded at the due time, study days and 24-hour
    # windows count the same
    assert intervals == [0, 2, 11, 46, 163, 498, 0, 0, 2, 4, 7, 12, 21]
    replayed = deck(root, config=ReviewConfig(fuzz=False))
    assert replayed.items[item.card.key].memory.due == item.memory.due


def test_card_identity_survives_answer_edits_not_question_edits():
    from attnkb.note import parse_text

    a = cards_for(parse_text("n.md", NOTE))
    b = cards_for(parse_text("n.md", NOTE.replace("加权求和。", "换了答案。") + "\nmore\n"))
    c = cards_for(parse_text("n.md", NOTE.replace("什么是注意力？", "注意力是什么？")))
    assert [x.id for x in a] == [x.id for x in b]
    assert a[0].id != c[0].id and a[1].id == c[1].id
    assert [x.answer for x in a] == ["加权求和。", "O(n²)。"]


def test_existing_schedule_is_honoured_and_grades_update_only_owned_keys(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    queue = d.queue(None, None, None)
    assert [i.due.date().isoformat() for i in queue] == ["2026-11-20", "2026-11-20"]
    graded = d.grade(queue[0], 3, NOW, 1200)
    text = (root / "n.md").read_text()
    assert text.startswith(
        "---\ntitle: Attention\ntags: [attn]\nnext_review: '2026-11-20'   # planned by hand\n"
        "review_count: 5\nlast_reviewed: '2026-11-21'\nmastery_level: "
    )
    assert text.split("---\n", 2)[2] == NOTE.split("---\n", 2)[2]
    d.undo(queue[0], NOW, graded)
    assert "review_count: 4\n" in (root / "n.md").read_text()
    entries = ReviewLog(root / ".attnkb").entries()
    assert [e.rating for e in entries] == [3, 0] and entries[1].undoes == graded.id


def test_renamed_note_keeps_history(make_vault):
    root = make_vault({"n.md": NOTE})
    d = deck(root)
    d.grade(d.queue(None, None, None)[0], 4, NOW, 0)
    (root / "sub").mkdir()
    (root / "n.md").rename(root / "sub" / "renamed.md")
    d2 = deck(root)
    moved = [i for i in d2.items.values() if i.memory is not None]
    assert len(moved) == 1 and moved[0].card.path == "sub/renamed.md"


def test_two_sessions_keep_both_reviews_and_a_cut_line_is_ignored(make_vault):
    root = make_vault({"n.md": NOTE})
    a, b = deck(root), deck(root)
    qa, qb = a.queue(None, None, None), b.queue(None, None, None)
    a.grade(qa[0], 3, NOW, 0)
    b.grade(qb[1], 2, NOW + timedelta(seconds=5), 0)
    log = ReviewLog(root / ".attnkb")
    with open(log.path, "a") as f:
        f.write("x1\t2026-11-21T10:00:09+00:00\tdeadbeef\t3")  # a process killed mid-line
    c = deck(root)
    assert sum(i.memory is not None for i in c.items.values()) == 2
    assert c.notices == [f"{log.path}:4: an unfinished last line (a write cut short); skipped"]
    c.grade(c.queue(None, None, None)[0], 3, NOW + timedelta(minutes=30), 0)
    assert len(log.entries()) == 3
    assert log.warnings == [f"{log.path}:4: not a review entry (4 fields, not 8); line skipped"]
    with pytest.raises(ValueError):
        parse_line("garbage")


def test_daily_limits_and_tags(make_vault):
    files = {f"n{i}.md": f"---\ntags: [{'a' if i % 2 else 'b/c'}]\n---\n# N{i}\n" for i in range(6)}
    root = make_vault(files)
    d = deck(root, config=ReviewConfig(new_per_day=4))
    assert len(d.queue(None, None, None)) == 4
    assert len(d.queue(None, None, 2)) == 2
    assert len(d.queue(["b"], None, None)) == 3
    assert len(d.queue(None, 1, None)) == 1


def test_review_piped_due_and_stats(make_vault, cli):
    root = make_vault({"n.md": NOTE, "other.md": "# Other\n\nfirst section text\n\n## Later\n"})
    env = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"}
    r = cli("--vault", root, "review", input="\n3\ns\n\n4\n", env=env)
    assert r.exit_code == 0, r.output
    assert "什么是注意力？" in r.stdout and "1 Again" in r.stdout and "first section text" in r.stdout
    assert "Reviewed 2 cards, skipped 1" in r.stdout
    due = json.loads(cli("--vault", root, "due", "--json", env=env).stdout)
    assert set(due) == {"new", "overdue", "today", "week"}
    assert {g["card"] for g in due["overdue"]} == {"复杂度？"}
    assert all({"path", "title", "card", "due"} <= set(g) for g in due["today"] + due["week"])
    stats = json.loads(cli("--vault", root, "stats", "--json", env=env).stdout)
    assert stats["reviews"] == 2 and stats["streak_days"] == 1
    assert stats["reviews_per_day"] == {"2026-11-21": 2}
    assert len(stats["forecast"]) == 30
    assert "Reviews, last 16 weeks" in cli("--vault", root, "stats", env=env).stdout


def test_nothing_due_and_bad_config(make_vault, cli):
    root = make_vault({".attnkb/config.toml": "[review]\ndesired_retention = 2\n", "n.md": "# N\n"})
    r = cli("--vault", root, "review", input="")
    assert r.exit_code == 2 and "config.toml" in r.stderr and "desired_retention" in r.stderr
    (root / ".attnkb" / "config.toml").write_text("[review]\nnew_per_day = 0\n")
    r = cli("--vault", root, "review", input="")
    assert r.exit_code == 0 and "Nothing to review now." in r.stdout
    assert "Left: 1 new (0 a day)" in r.stdout and "Today's limits are reached" in r.stdout


layouts = st.fixed_dictionaries(
    {
        "bom": st.booleans(),
        "crlf": st.booleans(),
        "comment": st.booleans(),
        "quote": st.sampled_from(["", "'", '"']),
        "has_count": st.booleans(),
        "has_fm": st.booleans(),
        "extra": st.lists(
            st.sampled_from(
                [
                    "aliases: [x]",
                    "tags:\n  - a\n  - b/c",
                    "date: 2024-01-01",
                    "title: '注意: yes'",
                    "weird_key: |\n  block\n  text",
                ]
            ),
            max_size=3,
        ),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts, ratings=st.lists(st.sampled_from(["1", "2", "3", "4", "u"]), min_size=1, max_size=6))
def test_any_reviews_leave_everything_but_owned_keys_identical(tmp_path_factory, layout, ratings):
    root = tmp_path_factory.mktemp("v")
    q = layout["quote"]
    fm_lines = [*layout["extra"], f"next_review: {q}2026-11-20{q}"]
    if layout["has_count"]:
        fm_lines.append("review_count: 2" + ("  # by hand" if layout["comment"] else ""))
    body = "# T\n\n### Q: one?\nA one\n\n### Q: two?\nA two\n"
    text = ("---\n" + "\n".join(fm_lines) + "\n---\n" if layout["has_fm"] else "") + body
    if layout["crlf"]:
        text = text.replace("\n", "\r\n")
    if layout["bom"]:
        text = "\ufeff" + text
    (root / "n.md").write_bytes(text.encode())
    d = deck(root)
    queue = d.queue(None, None, None)
    when = NOW
    graded = []
    for i, key in enumerate(ratings):
        when += timedelta(minutes=1)
        if key == "u":
            if graded:
                item, entry = graded.pop()
                d.undo(item, when, entry)
        else:
            item = queue[i % len(queue)]
            graded.append((item, d.grade(item, int(key), when, 0)))
    new = (root / "n.md").read_bytes().decode()
    owned = ("last_reviewed", "next_review", "review_count", "mastery_level")

    def strip(t: str) -> list[str]:
        return [ln for ln in t.splitlines(keepends=True) if not ln.lstrip("\ufeff").startswith(owned)]

    if layout["has_fm"]:
        assert strip(new) == strip(text)
    else:
        assert new.endswith(body.replace("\n", "\r\n") if layout["crlf"] else body)
    assert new.startswith("\ufeff") == layout["bom"]


def test_replaying_the_real_review_log_agrees_with_fsrs_rs(tmp_path):
    from tests.conftest import need_shared

    data = need_shared("data", "fsrs-review-log.csv")
    from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS, FSRSItem, FSRSReview

    from attnkb.srs.days import elapsed_days
    from attnkb.srs.log import Entry
    from attnkb.srs.memory import Scheduler
    from benchmarks.fsrs_csv import read_fsrs_csv

    entries = [Entry(r.time, r.card, r.rating, r.duration_ms, "real.md") for r in read_fsrs_csv(data)]
    log = ReviewLog(tmp_path / ".attnkb", device="test")
    with log.locked():
        for e in entries[:200]:
            log.append(e)
    assert log.entries() == sorted(entries[:200], key=lambda e: e.time)
    by_card: dict[str, list] = {}
    for e in sorted(entries, key=lambda e: e.time):
        by_card.setdefault(e.card, []).append(e)
    assert len(by_card) == 1205 and sum(map(len, by_card.values())) == 12580
    sched, rust = Scheduler(ReviewConfig(), UTC), FSRS(DEFAULT_PARAMETERS)
    worst = 0.0
    for history in by_card.values():
        ours = sched.replay(history)
        days = [0] + [elapsed_days(a.time, b.time, UTC) for a, b in itertools.pairwise(history)]
        theirs = rust.memory_state(
            FSRSItem([FSRSReview(e.rating, d) for e, d in zip(history, days, strict=True)])
        )
        for mine, ref in ((ours.stability, theirs.stability), (ours.difficulty, theirs.difficulty)):
            worst = max(worst, abs(mine - ref) / abs(ref))
    assert worst < 1e-3


@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="tmux is not installed")
def test_review_in_a_real_terminal_with_tmux(make_vault, tmp_path):
    import shutil
    import subprocess
    import sys
    import time

    root = make_vault({"n.md": NOTE})
    session = f"attnkb-test-{tmp_path.name}"
    attnkb = shutil.which("attnkb") or f"{sys.executable} -m attnkb"
    cmd = f"ATTNKB_NOW=2026-11-21T10:00:00+00:00 {attnkb} --vault {root} review; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd], check=True)

    def screen() -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
        ).stdout

    def wait_for(text: str) -> str:
        for _ in range(300):
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{screen()}")

    try:
        wait_for("什么是注意力？")
        subprocess.run(["tmux", "send-keys", "-t", session, "Space"], check=True)
        shown = wait_for("1 Again")
        assert "加权求和。" in shown and "3 Good" in shown
        subprocess.run(["tmux", "send-keys", "-t", session, "3"], check=True)
        wait_for("复杂度？")
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        wait_for("Reviewed 1")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    assert "review_count: 5" in (root / "n.md").read_text()
