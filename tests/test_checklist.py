"""The checklist workflow: ``due --markdown`` writes it, ``review --checklist`` reads the ticks."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = "2026-11-22T09:00:00+00:00"
VAULT = {
    "notes/a b/Overdue (x).md": "---\nnext_review: 2026-11-20\nreview_count: 4\n---\n# Overdue [note]\n\nText.\n",
    "notes/today.md": "---\nnext_review: 2026-11-22\nreview_count: 1\n---\n# Today\n\n### Q: one?\n\nA.\n\n### Q: two?\n\nB.\n",
    "notes/week.md": "---\nnext_review: 2026-11-26\nreview_count: 2\n---\n# Week\n\nText.\n",
    "notes/later.md": "---\nnext_review: 2027-01-01\nreview_count: 1\n---\n# Later\n\nText.\n",
    "notes/fresh.md": "# Fresh\n\nNever reviewed.\n",
}


def _vault(make_vault):
    root = make_vault(VAULT)
    (root / ".attnkb").mkdir()
    return root


def test_due_markdown_sections_links_counts(make_vault, cli):
    root = _vault(make_vault)
    (root / "daily").mkdir()
    result = cli(
        "--vault",
        root,
        "due",
        "--markdown",
        "-o",
        root / "daily" / "reviewsToday.md",
        env={"ATTNKB_NOW": NOW},
    )
    assert result.exit_code == 0, result.output
    text = (root / "daily" / "reviewsToday.md").read_text(encoding="utf-8")
    assert "## Overdue (1)" in text and "## Today (1)" in text and "## This week (1)" in text
    assert "## New (1)\n\n- [ ] [Fresh](../notes/fresh.md)\n  - reviews: 0 · new\n" in text
    assert (
        "- [ ] [Overdue \\[note\\]](../notes/a%20b/Overdue%20%28x%29.md)\n  - reviews: 4 · due: 2026-11-20\n"
        in text
    )
    assert "[Today](../notes/today.md)\n  - reviews: 1 · due: 2026-11-22 · cards to review: 2/2" in text
    assert "Later" not in text
    from attnkb.markdown import markdown_target

    for href in re.findall(r"\]\(([^)]+)\)", text):
        target = markdown_target(href)[0]
        assert (root / "daily" / target).resolve().is_file()
    stdout = cli("--vault", root, "due", "--markdown", env={"ATTNKB_NOW": NOW})
    assert "- [ ] [Week](" in stdout.output
    assert cli("--vault", root, "due", "-o", root / "x.md").exit_code == 2


def test_ticked_notes_are_graded_unticked_and_never_twice(make_vault, cli):
    root = _vault(make_vault)
    out = root / "reviewsToday.md"
    cli("--vault", root, "due", "--markdown", "-o", out, env={"ATTNKB_NOW": NOW})
    text = out.read_text(encoding="utf-8").replace("\n", "\r\n")
    text = text.replace("- [ ] [Overdue", "- [x] [Overdue").replace(
        "- [ ] [Today](notes/today.md)", "- [X] [Today](notes/today.md) (2)"
    )
    text = text.replace("- [ ] [Week]", "- [x] [Week]").replace("- [ ] [Fresh]", "- [x] [Fresh]")
    text += "- [x] [Missing](notes/missing.md)\r\n* [x] no link here\r\n"
    ticked = ("\ufeff" + text).encode("utf-8")
    out.write_bytes(ticked)
    later = {"ATTNKB_NOW": "2026-11-22T20:00:00+00:00"}
    result = cli("--vault", root, "review", "--checklist", out, env=later)
    assert result.exit_code == 0, result.output
    assert "Recorded 4 reviews for 3 notes; unticked 4 boxes" in result.output
    assert "nothing due in this note" in result.output and "is not a note of this vault" in result.output
    after = out.read_bytes()
    assert len(after) == len(ticked)
    assert [i for i, (a, b) in enumerate(zip(ticked, after, strict=True)) if a != b] == [
        m.start() + 3 for m in re.finditer(rb"- \[[xX]\] \[(Overdue|Today|Week|Fresh)", ticked)
    ]
    from attnkb.srs.log import ReviewLog

    log = sorted((e.path, e.rating) for e in ReviewLog(root / ".attnkb").entries() if e.is_review)
    assert log == [  # both cards of Today got the written grade; a new note its first review
        ("notes/a b/Overdue (x).md", 3),
        ("notes/fresh.md", 3),
        ("notes/today.md", 2),
        ("notes/today.md", 2),
    ]
    # Good on a card in its learning steps graduated it; Hard (2) on Today's cards did not
    graduated = sorted(e.path for e in ReviewLog(root / ".attnkb").entries() if e.start is not None)
    assert graduated == ["notes/a b/Overdue (x).md", "notes/fresh.md"]
    assert "review_count: 5" in (root / "notes/a b/Overdue (x).md").read_text(encoding="utf-8")

    out.write_bytes(ticked)  # the old, ticked checklist once more
    again = cli("--vault", root, "review", "--checklist", out, env=later)
    assert (
        "Recorded 0 reviews" in again.output
        and "already reviewed since this checklist was written" in again.output
    )
    assert sorted((e.path, e.rating) for e in ReviewLog(root / ".attnkb").entries() if e.is_review) == log


def test_bad_checklists(make_vault, cli):
    root = _vault(make_vault)
    bad = root / "bad.md"
    bad.write_bytes(b"- [x] [T](notes/today.md)\n\xff\n")
    result = cli("--vault", root, "review", "--checklist", bad, env={"ATTNKB_NOW": NOW})
    assert result.exit_code == 2 and "bad.md:2: not valid UTF-8" in result.output
    bad.write_text("- [x] [Today](notes/today.md) (7)\n", encoding="utf-8")
    result = cli("--vault", root, "review", "--checklist", bad, env={"ATTNKB_NOW": NOW})
    assert "line 1: grade (7) must be 1-4" in result.output and "[x]" in bad.read_text(encoding="utf-8")
    assert cli("--vault", root, "review", "--checklist", root / "nope.md").exit_code == 2


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="-*+ [xX]()<>#1234\n\r\tabc/.md%", max_size=200))
def test_checklist_reader_changes_nothing_but_boxes(tmp_path_factory, text):
    from attnkb.clock import parse_instant
    from attnkb.interop.checklist import record
    from attnkb.srs.config import ReviewConfig
    from attnkb.srs.deck import Deck

    root = tmp_path_factory.mktemp("v")
    f = root / "c.md"
    f.write_bytes(text.encode())
    before = f.read_bytes()
    record(Deck(root, [], ReviewConfig(), parse_instant(NOW)), f)
    after = f.read_bytes()
    assert len(after) == len(before)
    assert all(a == b or (a in b"xX" and b == ord(" ")) for a, b in zip(before, after, strict=True))


def test_new_notes_follow_the_daily_new_card_limit(make_vault, cli):
    root = make_vault({f"n{i:02}.md": f"# N{i}\n\nText.\n" for i in range(30)})
    (root / ".attnkb").mkdir()
    (root / ".attnkb" / "config.toml").write_text("[review]\nnew_per_day = 5\n")
    text = cli("--vault", root, "due", "--markdown", env={"ATTNKB_NOW": NOW}).output
    assert "## New (5)" in text and text.count("- [ ] [") == 5


ZH = {
    f"notes/C++/{name}.md": f"---\nnext_review: 2026-11-{day}\nreview_count: 1\ndifficulty: {level}\n---\n# {name}\n\n## 面试标准答案\n\n答案。\n"
    for name, day, level in (
        ("移动语义", "18", "medium"),
        ("右值引用", "19", "hard"),
        ("完美转发", "20", "easy"),
        ("智能指针", "22", "medium"),
    )
} | {"notes/new.md": "# English title\n\nText.\n"}


def test_labels_in_the_vault_language_with_counts_limit_and_difficulty(make_vault, cli):
    root = make_vault(ZH)
    (root / ".attnkb").mkdir()
    r = cli("--vault", root, "due", "--markdown", "--limit", "2", env={"ATTNKB_NOW": NOW})
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert text.startswith("# 📅 复习清单 2026-11-22\n\n<!-- attnkb due ")
    assert "共 5 篇：已过期 3 · 今日 1 · 本周 0 · 新 1\n" in text
    assert "## 🔴 已过期 (3)\n" in text and "## ⭐ 今日 (1)\n" in text and "## 🆕 新笔记 (1)\n" in text
    assert text.count("- [ ] [") == 4  # 2 of the 3 overdue, today's, the new one
    assert "_另有 1 篇未列出（每节最多 2 篇）_" in text
    assert (
        "- [ ] [移动语义](vault/notes/C++/移动语义.md)\n  - 已复习: 1次 · 到期: 2026-11-18 · 难度: medium\n"
        in text
    )
    assert (
        "- [ ] [English title](vault/notes/new.md)\n  - 已复习: 0次 · 新\n" in text
    )  # no difficulty: none said
    config = root / ".attnkb" / "config.toml"
    config.write_text('[checklist]\nlanguage = "en"\nlimit = 1\n', encoding="utf-8")
    text = cli("--vault", root, "due", "--markdown", env={"ATTNKB_NOW": NOW}).stdout
    assert "## Overdue (3)\n" in text and "_2 more not listed (limit 1)_" in text
    assert "5 notes: 3 overdue · 1 today · 0 this week · 1 new\n" in text
    assert "  - reviews: 1 · due: 2026-11-18 · difficulty: medium\n" in text
    config.write_text('[checklist]\nlanguage = "fr"\n', encoding="utf-8")
    bad = cli("--vault", root, "due", "--markdown", env={"ATTNKB_NOW": NOW})
    assert bad.exit_code == 2 and "config.toml:2: [checklist] language must be one of 'auto'" in bad.stderr


def test_english_titles_get_english_labels(make_vault, cli):
    root = _vault(make_vault)
    text = cli("--vault", root, "due", "--markdown", env={"ATTNKB_NOW": NOW}).stdout
    assert text.startswith("# Reviews for 2026-11-22\n") and "## This week (1)\n" in text


def test_a_tick_is_the_day_review_of_the_note(make_vault, cli):
    """A tick gave a new card one learning step: the note was due again that evening and on
    tomorrow's list."""
    root = make_vault({"notes/fresh.md": "# 新笔记\n\n## 面试标准答案\n\n答案。\n"})
    (root / ".attnkb").mkdir()
    out = root / "reviewsToday.md"
    morning = {"ATTNKB_NOW": "2026-11-22T09:00:00+00:00"}
    assert cli("--vault", root, "due", "--markdown", "-o", out, env=morning).exit_code == 0
    out.write_text(out.read_text(encoding="utf-8").replace("- [ ]", "- [x]"), encoding="utf-8")
    r = cli("--vault", root, "review", "--checklist", out, env=morning)
    assert "Recorded 1 review for 1 note" in r.stdout
    evening = cli("--vault", root, "due", "--json", env={"ATTNKB_NOW": "2026-11-22T23:00:00+00:00"})
    groups = json.loads(evening.stdout)
    assert groups["today"] == groups["overdue"] == groups["new"] == []
    tomorrow = cli("--vault", root, "due", "--json", env={"ATTNKB_NOW": "2026-11-23T09:00:00+00:00"})
    groups = json.loads(tomorrow.stdout)
    assert groups["today"] == groups["overdue"] == [] and len(groups["week"]) == 1  # graduated: days away
    assert "review_count: 1" in (root / "notes/fresh.md").read_text(encoding="utf-8")  # one review
    assert "Nothing to review now." in cli("--vault", root, "review", input="q\n", env=morning).stdout


def test_a_checklist_written_by_an_earlier_version_is_read_back(make_vault, cli):
    root = _vault(make_vault)
    old = (
        "# Reviews for 2026-11-22\n\n<!-- attnkb due 2026-11-22T09:00:00+00:00 -->\n"
        "Tick what you reviewed (add a grade like `(2)` after a line for other than Good), then run"
        " `attnkb review --checklist` on this file.\n\n## Overdue (1)\n\n"
        "- [x] [Overdue \\[note\\]](notes/a%20b/Overdue%20%28x%29.md)\n  - reviews: 4 · due: 2026-11-20\n"
        "\n## Today (1)\n\n- [x] [Today](notes/today.md) (4)\n  - reviews: 1 · due: 2026-11-22 · cards to review: 2/2\n"
    )
    (root / "old.md").write_text(old, encoding="utf-8")
    r = cli(
        "--vault",
        root,
        "review",
        "--checklist",
        root / "old.md",
        env={"ATTNKB_NOW": "2026-11-22T20:00:00+00:00"},
    )
    assert "Recorded 3 reviews for 2 notes; unticked 2 boxes" in r.stdout
    assert (root / "old.md").read_text(encoding="utf-8") == old.replace("- [x]", "- [ ]")
    assert "old.md" not in cli("--vault", root, "list").stdout  # an attnkb checklist, not a note
