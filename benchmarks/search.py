"""Search on the 10,000-note synthetic vault: warm search time (whole process) and what the
full-text table costs the index (extra size, extra cold-indexing time).

    python benchmarks/search.py [--notes 10000] [--dir /tmp/attnkb-bench-vault]

The cost is measured by indexing the same vault twice from cold: once as shipped, once with the
full-text rows switched off in the process (everything else identical).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from vault import WITHOUT_FTS, generate  # the synthetic vault of benchmarks/vault.py


def run(args: list[str], code: str | None = None) -> float:
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "attnkb", *args]
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold(root: Path, code: str | None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (all processes; steadier than wall time on a shared machine)
    and index size of indexing from scratch."""
    shutil.rmtree(root / ".attnkb", ignore_errors=True)
    before = cpu()
    seconds = run(["--vault", str(root), "list", "--json"], code)
    return seconds, cpu() - before, (root / ".attnkb" / "index.sqlite").stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/attnkb-bench-vault")
    ap.add_argument("--reuse", action="store_true", help="keep an existing generated vault")
    args = ap.parse_args()
    root = Path(args.dir)
    if not (args.reuse and root.is_dir()):
        generate(root, args.notes)
    size = sum(p.stat().st_size for p in root.rglob("*.md"))
    print(f"{args.notes} notes, {size / 1e6:.1f} MB")
    t_plain, c_plain, s_plain = cold(root, WITHOUT_FTS)
    t_fts, c_fts, s_fts = cold(root, None)
    print(f"cold index without full text: {t_plain:.1f}s wall, {c_plain:.1f}s CPU, {s_plain / 1e6:.0f} MB")
    print(
        f"cold index with full text:    {t_fts:.1f}s wall, {c_fts:.1f}s CPU, {s_fts / 1e6:.0f} MB"
        f"  (+{100 * (t_fts / t_plain - 1):.0f}% wall, +{100 * (c_fts / c_plain - 1):.0f}% CPU,"
        f" +{(s_fts - s_plain) / 1e6:.0f} MB = +{100 * (s_fts / s_plain - 1):.0f}% size)"
    )
    times = sorted(run(["--help"]) for _ in range(5))
    print(f"--help (the floor of any command): median {times[2]:.3f}s (min {times[0]:.3f}s)")
    for query in (
        ["注意力"],
        ["键"],
        ["缩放", "点积"],
        ["atten"],
        ["query", "掩码", "-softmax"],
        ["笔记", "4242"],
    ):
        times = sorted(run(["--vault", str(root), "search", *query, "--limit", "20"]) for _ in range(5))
        print(f"warm search {' '.join(query)!r}: median {times[2]:.3f}s (min {times[0]:.3f}s)")


if __name__ == "__main__":
    main()
