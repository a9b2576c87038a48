"""One rule for every writer: through a symlink into the vault, never out of it, never over a
read-only note."""

import os
import stat

import pytest

from attnkb.errors import AttnkbError, WriteRefused
from attnkb.files import atomic_write

NOTE = "---\nreview_count: 0\n---\n# N\n\n### Q: what?\n\nthat\n"
NOW = {"ATTNKB_NOW": "2026-11-21T10:00:00+00:00"}
BLOCK = "# E\n\n```attention\nop: softmax\nscores: [[0, 0], [1, 0]]\nexpect:\n  weights: [[0.9, 0.1], [0.5, 0.5]]\n```\n"


def test_atomic_write_goes_through_a_link_inside_the_vault(make_vault):
    root = make_vault({"real/n.md": NOTE})
    os.symlink("real/n.md", root / "link.md")
    atomic_write(root / "link.md", "new\n", root)
    assert (root / "link.md").is_symlink()
    assert (root / "real" / "n.md").read_text() == "new\n"


def test_atomic_write_refuses_links_out_of_the_vault_and_read_only_notes(make_vault, tmp_path):
    root = make_vault({"ro.md": NOTE})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "n.md").write_text(NOTE)
    os.symlink(outside / "n.md", root / "link.md")
    os.symlink(outside, root / "folder")
    for rel in ("link.md", "folder/n.md"):
        with pytest.raises(WriteRefused, match="outside the vault") as caught:
            atomic_write(root / rel, "new\n", root)
        assert caught.value.path == rel and isinstance(caught.value, AttnkbError)
    assert (outside / "n.md").read_text() == NOTE and (root / "link.md").is_symlink()
    os.chmod(root / "ro.md", 0o444)
    with pytest.raises(WriteRefused, match="read-only") as caught:
        atomic_write(root / "ro.md", "new\n", root)
    assert caught.value.path == "ro.md"
    assert (root / "ro.md").read_text() == NOTE and stat.S_IMODE((root / "ro.md").stat().st_mode) == 0o444


def test_review_writes_through_an_inside_link_and_keeps_it_a_link(make_vault, cli):
    root = make_vault({"real/n.md": NOTE})
    os.symlink("real/n.md", root / "link.md")
    r = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert r.exit_code == 0, r.output
    assert (root / "link.md").is_symlink()
    assert "review_count: 1" in (root / "real" / "n.md").read_text()


@pytest.mark.parametrize("kind", ["outside-link", "outside-folder", "read-only"])
def test_review_never_replaces_what_it_must_not_write(make_vault, cli, tmp_path, kind):
    root = make_vault({})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "n.md").write_text(NOTE)
    if kind == "outside-link":
        os.symlink(outside / "n.md", root / "n.md")
        protected, rel = outside / "n.md", "n.md"
    elif kind == "outside-folder":
        os.symlink(outside, root / "sub")
        protected, rel = outside / "n.md", "sub/n.md"
    else:
        (root / "n.md").write_text(NOTE)
        os.chmod(root / "n.md", 0o444)
        protected, rel = root / "n.md", "n.md"
    r = cli("--vault", root, "review", input="\n3\n", env=NOW)
    assert "internal error" not in r.output
    assert f"{rel}: " in r.stderr and ("outside the vault" in r.stderr or "read-only" in r.stderr)
    assert protected.read_text() == NOTE  # the user's file is as it was
    if kind == "outside-link":
        assert (root / "n.md").is_symlink()
    logs = "".join(p.read_text() for p in (root / ".attnkb" / "reviews").glob("*.log"))
    assert logs.count("\t3\t") == 1  # the grade is kept, and the session went on
    assert r.exit_code == 0 and "Session over" in r.stdout


def test_run_example_update_follows_the_same_rule(make_vault, cli, tmp_path):
    root = make_vault({"inside/e.md": BLOCK, "ro.md": BLOCK})
    os.symlink("inside/e.md", root / "e.md")
    r = cli("--vault", root, "run-example", "e.md", "--update")
    assert r.exit_code == 0, r.output
    assert (root / "e.md").is_symlink() and "[[0.5, 0.5], [0.7, 0.3]]" in (root / "inside/e.md").read_text()
    os.chmod(root / "ro.md", 0o444)
    r = cli("--vault", root, "run-example", "ro.md", "--update")
    assert r.exit_code == 2 and "attnkb: ro.md: is read-only" in r.stderr
    assert (root / "ro.md").read_text() == BLOCK
    (tmp_path / "out.md").write_text(BLOCK)
    os.symlink(tmp_path / "out.md", root / "out.md")
    r = cli("--vault", root, "run-example", "out.md", "--update")
    assert r.exit_code == 2 and "attnkb: out.md: leads to" in r.stderr and "outside the vault" in r.stderr
    assert (tmp_path / "out.md").read_text() == BLOCK


def test_related_write_skips_a_read_only_note_and_writes_the_others(make_vault, cli):
    words = "scaled dot product attention softmax query key value"
    root = make_vault({"a.md": f"# Attention\n\n{words}\n", "b.md": f"# Self attention\n\n{words} heads\n"})
    os.chmod(root / "b.md", 0o444)
    r = cli("--vault", root, "related", "--write", "--all")
    assert r.exit_code == 1 and "attnkb: b.md: is read-only" in r.stderr
    assert "updated 1 note" in r.stdout
    assert (root / "b.md").read_text() == f"# Self attention\n\n{words} heads\n"
    assert (root / "a.md").read_text() != f"# Attention\n\n{words}\n"  # the other note got its section
