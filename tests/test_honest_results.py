"""Results that must be right whatever the clocks, the devices and the file names: a checklist
grades a note once, an undo cancels one entry, a read-only checklist says what happened, paths
print as they are, and ``due -o`` never replaces a note."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from attnkb.srs.history import effective_history
from attnkb.srs.log import HEADER, Entry, ReviewLog
from tests.test_anki import build_package
from tests.test_optimize import simulated_reviews, write_log

NOW = "2026-11-22T09:00:00+00:00"
NOTE = "---\nnext_review: 2026-11-20\n---\n# Overdue\n\n### Q: one?\n\nA.\n\n### Q: two?\n\nB.\n"
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _checklist(root, cli, out):
    assert cli("--vault", root, "due", "--markdown", "-o", out, env={"ATTNKB_NOW": NOW}).exit_code == 0
    return out.read_text(encoding="utf-8")


# --- the checklist ----------------------------------------------------------------------------


def test_a_note_ticked_on_two_lines_is_graded_once_even_when_the_stamp_is_ahead(make_vault, cli):
    root = make_vault({"n.md": NOTE, ".attnkb/.keep": ""})
    out = root / "today.md"
    text = _checklist(root, cli, out)
    row = next(line for line in text.splitlines() if line.startswith("- [ ] [Overdue]"))
    text = text.replace("- [ ]", "- [x]") + row.replace("- [ ]", "- [x]") + "\n"
    ahead = text.replace(f"<!-- attnkb due {NOW} -->", "<!-- attnkb due 2026-11-22T18:00:00+00:00 -->")
    assert ahead != text
    out.write_text(ahead, encoding="utf-8")  # another device's clock runs ahead: its stamp is later
    result = cli(
        "--vault", root, "review", "--checklist", out, env={"ATTNKB_NOW": "2026-11-22T10:00:00+00:00"}
    )
    assert result.exit_code == 0, result.output
    assert "Recorded 2 reviews for 1 note; unticked 2 boxes" in result.stdout  # two cards, once each
    assert "already graded on an earlier line" in result.stderr
    assert sum(e.is_review for e in ReviewLog(root / ".attnkb").entries()) == 2


def test_a_read_only_checklist_says_the_grades_were_recorded(make_vault, cli):
    root = make_vault({"n.md": NOTE, ".attnkb/.keep": ""})
    out = root / "today.md"
    out.write_text(_checklist(root, cli, out).replace("- [ ]", "- [x]"), encoding="utf-8")
    ticked = out.read_bytes()
    os.chmod(out, 0o444)
    result = cli("--vault", root, "review", "--checklist", out, env={"ATTNKB_NOW": NOW})
    assert result.exit_code == 1
    assert (
        "Recorded 2 reviews for 1 note; the boxes in" in result.stdout
        and "could not be unticked" in result.stdout
    )
    assert "is read-only" in result.stderr and "the grades were recorded" in result.stderr
    assert out.read_bytes() == ticked and sum(e.is_review for e in ReviewLog(root / ".attnkb").entries()) == 2
    again = cli("--vault", root, "review", "--checklist", out, env={"ATTNKB_NOW": NOW})
    assert "Recorded 0 reviews" in again.stdout  # running it again records nothing twice


def test_due_output_never_replaces_a_note_without_force(make_vault, cli):
    note = "# 自注意力\n\nmy own words\n"
    root = make_vault({"n.md": NOTE, "自注意力.md": note, "plain.txt": "mine\n", ".attnkb/.keep": ""})
    for name in ("自注意力.md", "plain.txt"):
        result = cli("--vault", root, "due", "--markdown", "-o", root / name, env={"ATTNKB_NOW": NOW})
        assert result.exit_code == 2 and "is not a checklist attnkb wrote" in result.stderr
        assert "--force" in result.stderr
    assert (root / "自注意力.md").read_text(encoding="utf-8") == note
    checklist = root / "today.md"
    _checklist(root, cli, checklist)
    _checklist(root, cli, checklist)  # its own checklist is replaced without asking
    forced = cli(
        "--vault", root, "due", "--markdown", "-o", root / "plain.txt", "--force", env={"ATTNKB_NOW": NOW}
    )
    assert forced.exit_code == 0 and (root / "plain.txt").read_text().startswith("# Reviews for ")
    assert "--force" in cli("due", "--help").stdout


# --- entry ids per device ---------------------------------------------------------------------


def _log(root, device, entries):
    folder = root / ".attnkb" / "reviews"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{device}.log").write_text(HEADER + "".join(e.line() for e in entries), encoding="utf-8")


def test_an_undo_cancels_the_entry_of_its_own_device_only(tmp_path):
    root = tmp_path
    mine = Entry(T0, "c1", 3, 0, "a.md", id="0123456789abcdef")
    theirs = Entry(T0 + timedelta(hours=1), "c2", 4, 0, "b.md", id="0123456789abcdef")  # same id
    _log(root, "laptop", [mine, Entry(T0 + timedelta(hours=2), "c1", 0, 0, "a.md", id="u1", undoes=mine.id)])
    _log(root, "desktop", [theirs])
    history = effective_history(ReviewLog(root / ".attnkb")).reviews
    assert ("a.md", "c1") not in history
    assert history[("b.md", "c2")] == [theirs]


def test_old_logs_keep_their_meaning(tmp_path):
    """Lines as attnkb wrote them before: an undo in the grading device's file, an exact copy of
    an entry in two files (a copied log, one import run on two devices), a v1 log."""
    root = tmp_path
    logs = root / ".attnkb" / "reviews"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text(
        HEADER + "e1\t2026-11-01T10:00:00+00:00\tc1\t3\t1200\tn.md\t-\tf\n"
        "e2\t2026-11-01T10:01:00+00:00\tc2\t1\t900\tn.md\t-\tf\n"
        "u1\t2026-11-01T10:02:00+00:00\tc2\tundo\t0\tn.md\te2\t-\n"
        "s1\t2026-11-01T09:00:00+00:00\tc3\tstate:5.0,6.0,2026-11-10T00:00:00+00:00\t0\tn.md\t-\t-\n",
        encoding="utf-8",
    )
    (logs / "b.log").write_text(
        HEADER + "s1\t2026-11-01T09:00:00+00:00\tc3\tstate:5.0,6.0,2026-11-10T00:00:00+00:00\t0\tn.md\t-\t-\n"
        "e3\t2026-11-02T10:00:00+00:00\tc3\t4\t500\tn.md\t-\tf\n"
        "u2\t2026-11-02T10:01:00+00:00\tc3\tundo\t0\tn.md\ts1\t-\n",  # undoes the copy both files hold
        encoding="utf-8",
    )
    (root / ".attnkb" / "reviews.log").write_text(
        "2026-10-01T10:00:00+00:00\tc9\t2\t100\told.md\n2026-10-01T10:01:00+00:00\tc9\tundo\t0\told.md\n"
        "2026-10-02T10:00:00+00:00\tc9\t4\t100\told.md\n",
        encoding="utf-8",
    )
    log = ReviewLog(root / ".attnkb")
    history = effective_history(log)
    assert log.warnings == []
    got = {key: [(e.id, e.rating) for e in h] for key, h in history.reviews.items()}
    c9 = [e.id for e in history.reviews[("old.md", "c9")]]
    assert got == {
        ("n.md", "c1"): [("e1", 3)],
        ("n.md", "c3"): [("e3", 4)],
        ("old.md", "c9"): [(c9[0], 4)],
    }
    assert len(history.entries) == 9  # 4 + 3 + 3 lines, and the copy of s1 is one entry


# --- paths print as they are ------------------------------------------------------------------


def test_import_anki_prints_its_folder_as_text(make_vault, cli, tmp_path):
    root = make_vault({"n.md": NOTE})
    package = build_package(tmp_path / "deck.apkg", tmp_path, "legacy")
    for name, shown in (("in[/]x", "in[/]x"), ("[red]folder", "[red]folder"), ("esc\x1b[31mred", "escred")):
        (root / name).mkdir(parents=True)
        result = cli("--vault", root, "import", "anki", str(package), "--into", root / name, "--dry-run")
        assert result.exit_code == 0, result.output
        assert f"Would write 4 new notes into {shown}/." in result.stdout and "\x1b" not in result.stdout


def test_optimize_prints_its_config_path_as_text(cli, tmp_path):
    root = tmp_path / "v\x1b[31mault [bold]x"
    write_log(root, simulated_reviews(80))
    result = cli("--vault", root, "optimize", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "\x1b" not in result.stdout
        and "[bold]x" in result.stdout
        and "config.toml is unchanged" in result.stdout
    )
