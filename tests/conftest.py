"""Hermetic tests: every test runs in its own temp folder with no vault settings inherited."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(autouse=True)
def _hermetic(tmp_path, monkeypatch):
    for var in ("ATTNKB_VAULT", "ATTNKB_NOW", "EDITOR", "VISUAL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    # Vault discovery stops at the temp dir: a stray .attnkb/ above it cannot change a test.
    monkeypatch.setenv("ATTNKB_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture
def make_vault(tmp_path):
    """Write {relative path: text or bytes} into a fresh vault and return its root."""

    def make(files: dict[str, str | bytes], name: str = "vault") -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        for rel, content in files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8", newline="")
        return root

    return make


@pytest.fixture
def cli():
    from attnkb.cli import app

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env)

    return invoke


def need_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is only beside a developer checkout)")
    return path


def stable_seed(*parts: object) -> int:
    """A seed for a test case that is the same in every run (``hash`` of a str is salted per
    process, so seeding from it makes a failure impossible to replay)."""
    return zlib.crc32(repr(parts).encode())
