"""Nothing of theirs lost to git: a vault whose .gitignore has `*.log` still commits its reviews."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from attnkb.srs.log import GITIGNORE, KEEP_VERSIONED

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
NOW = {"ATTNKB_NOW": "2026-01-05T09:00:00+00:00", "ATTNKB_DEVICE": "laptop"}
NOTE = "# 移动语义\n\n## 面试标准答案\n\n右值引用。\n"


def _git(root, *args):
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def _repo(make_vault, gitignore="*.log\ndocs/\n"):
    root = make_vault({"notes/移动语义.md": NOTE, ".gitignore": gitignore}, name="kb")
    _git(root, "init", "-q")
    return root


def test_init_keeps_the_log_versioned_under_a_star_log_rule(make_vault, cli, monkeypatch):
    root = _repo(make_vault)
    monkeypatch.chdir(root)
    assert cli("init").exit_code == 0
    r = cli("review", input="enter\n3\nq\n", env=NOW)
    assert r.exit_code == 0 and "Reviewed 1" in r.stdout
    log = root / ".attnkb" / "reviews" / "laptop.log"
    assert log.is_file()
    assert _git(root, "check-ignore", "-q", ".attnkb/reviews/laptop.log").returncode == 1  # not ignored
    _git(root, "add", "-A")
    staged = _git(root, "diff", "--cached", "--name-only").stdout.splitlines()
    assert ".attnkb/reviews/laptop.log" in staged and ".attnkb/config.toml" not in staged
    assert ".attnkb/index.sqlite" not in staged  # the cache stays out
    assert "warning" not in r.stderr


def test_init_mends_the_gitignore_an_older_attnkb_wrote(make_vault, cli):
    root = _repo(make_vault)
    (root / ".attnkb").mkdir()
    old = GITIGNORE.replace(KEEP_VERSIONED, "")
    (root / ".attnkb" / ".gitignore").write_text(old, encoding="utf-8")
    (root / ".attnkb" / "reviews").mkdir()
    (root / ".attnkb" / "reviews" / "laptop.log").write_text("", encoding="utf-8")
    for command in (("due",), ("check",), ("review", "--limit", "0")):
        r = cli("--vault", root, *command, env=NOW)
        assert (
            "attnkb: .attnkb/reviews/laptop.log: warning: git ignores this review log (rule '*.log' in"
            " .gitignore:1): its reviews would never be committed; `attnkb init` keeps the logs versioned"
        ) in r.stderr, command
    assert "git-ignored" in cli("--vault", root, "check", "--json", env=NOW).stdout
    assert cli("--vault", root, "init").exit_code == 0
    assert (root / ".attnkb" / ".gitignore").read_text(encoding="utf-8") == old + KEEP_VERSIONED
    assert cli("--vault", root, "init").exit_code == 0  # once
    assert (root / ".attnkb" / ".gitignore").read_text(encoding="utf-8") == old + KEEP_VERSIONED
    r = cli("--vault", root, "due", env=NOW)
    assert "git ignores" not in r.stderr


def test_a_rule_that_ignores_the_state_folder_is_named_with_what_to_change(make_vault, cli):
    root = _repo(make_vault, gitignore="# mine\n.attnkb/\n")
    assert cli("--vault", root, "init").exit_code == 0
    r = cli("--vault", root, "due", env=NOW)
    assert "(rule '.attnkb/' in .gitignore:2)" in r.stderr and "change that rule" in r.stderr


def test_silent_without_a_repository_or_without_git(make_vault, cli, monkeypatch):
    root = make_vault({"notes/移动语义.md": NOTE, ".gitignore": "*.log\n"}, name="kb")
    assert cli("--vault", root, "init").exit_code == 0
    assert cli("--vault", root, "due", env=NOW).stderr == ""
    _git(root, "init", "-q")
    (root / ".attnkb" / ".gitignore").write_text("index.sqlite\n", encoding="utf-8")
    assert "git ignores" in cli("--vault", root, "due", env=NOW).stderr
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli("--vault", root, "due", env=NOW).stderr == ""
