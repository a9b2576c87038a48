"""The checklist workflow: ``due --markdown`` writes it, ``review --checklist`` reads the ticks."""

from __future__ import annotations

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

    log = sorted((e.path, e.rating) for e in ReviewLog(root / ".attnkb").entries())
    assert log == [  # both cards of Today got the written grade; a new note its first review
        ("notes/a b/Overdue (x).md", 3),
        ("notes/fresh.md", 3),
        ("notes/today.md", 2),
        ("notes/today.md", 2),
    ]
    assert "review_count: 5" in (root / "notes/a b/Overdue (x).md").read_text(encoding="utf-8")

    out.write_bytes(ticked)  # the old, ticked checklist once more
    again = cli("--vault", root, "review", "--checklist", out, env=later)
    assert (
        "Recorded 0 reviews" in again.output
        and "already reviewed since this checklist was written" in again.output
    )
    assert sorted((e.path, e.rating) for e in ReviewLog(root / ".attnkb").entries()) == log


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
