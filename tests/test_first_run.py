"""README's first command, run as a new user would in a fresh clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOUNDATIONS = ("注意力机制概述", "查询键值QKV", "Softmax与温度", "点积注意力")


def _clone(dest: Path) -> Path:
    """A clone of the committed-or-tracked files of this checkout, as `git clone` would give."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src, dst = REPO / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        elif src.exists():
            shutil.copy2(src, dst)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "clone"], cwd=dest, check=True)
    return dest


def test_readme_first_command_keeps_the_clone_clean_and_starts_on_a_foundation(tmp_path):
    clone = _clone(tmp_path / "clone")
    first = next(
        ln for ln in (clone / "README.md").read_text(encoding="utf-8").splitlines() if ln.startswith("pip ")
    )
    assert first.startswith("pip install -e . && ")
    command = first.removeprefix("pip install -e . && ").replace("attnkb ", f"{sys.executable} -m attnkb ")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(clone), "COLUMNS": "100"}
    for var in ("ATTNKB_VAULT", "ATTNKB_NOW"):
        env.pop(var, None)
    run = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        input="enter\n3\nq\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored"], cwd=clone, capture_output=True, text=True
    )
    changed = [ln for ln in status.stdout.splitlines() if "__pycache__" not in ln]
    assert changed == []
    first_card = next(ln for ln in run.stdout.splitlines() if ".md:" in ln)
    assert first_card.split(".md:")[0].strip() in FOUNDATIONS, run.stdout
    vault = home / "attnkb-vault"
    assert (vault / ".attnkb").is_dir() and len(list(vault.glob("*.md"))) == 25
