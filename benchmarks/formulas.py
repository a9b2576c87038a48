"""Time `attnkb run-example --all` (blocks and formulas) on the starter vault and on the
reference interview vault, as a user runs it: whole processes, best of a few runs.

    python benchmarks/formulas.py [--runs 3]

Prints, per vault, the seconds with formulas, with --no-formulas, and the formula counts.
The interview vault is skipped when ../shared/reference is absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
VAULTS = {
    "starter (notes/)": HERE / "notes",
    "interview vault": HERE.parent / "shared" / "reference" / "interview-vault",
}


def timed(vault: Path, *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "attnkb", "--vault", str(vault), "run-example", "--all", *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"run-example failed on {vault}: {done.stderr.strip()}")
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name, source in VAULTS.items():
        if not source.exists():
            print(f"{name}: skipped ({source} not found)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            vault = Path(tmp) / "vault"
            shutil.copytree(source, vault, ignore=shutil.ignore_patterns(".attnkb"))
            timed(vault, "--no-formulas")  # builds the index once, as a second run by a user finds it
            with_formulas = min(timed(vault, "--json")[0] for _ in range(args.runs))
            blocks_only = min(timed(vault, "--no-formulas", "--json")[0] for _ in range(args.runs))
            rows = json.loads(timed(vault, "--json")[1])
        formulas = [r for r in rows if r["kind"] == "formula"]
        count = {
            s: sum(r["status"] == s for r in formulas) for s in ("pass", "fail", "unsupported", "context")
        }
        print(
            f"{name}: run-example --all {with_formulas:.2f} s with formulas, {blocks_only:.2f} s blocks only;"
            f" {len(formulas)} formulas: {count['pass'] + count['fail']} checked ({count['pass']} agree,"
            f" {count['fail']} disagree), {count['unsupported']} unsupported, {count['context']} context"
        )


if __name__ == "__main__":
    main()
