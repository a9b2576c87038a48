"""Generate a synthetic vault and time cold and warm runs of the commands a large vault makes
slow: indexing (with and without the full-text table), `list`, `due`, `stats`, `check`, `search`.

    python benchmarks/vault.py [--notes 10000] [--dir /tmp/attnkb-bench]

Notes are 2-20 KB of CJK and English text with front matter, wikilinks, Markdown links,
Q&A cards and code fences. Each timing is the whole process, as a user runs it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = [
    "注意力",
    "机制",
    "查询",
    "键",
    "值",
    "缩放",
    "点积",
    "多头",
    "自注意力",
    "交叉",
    "掩码",
    "因果",
    "稀疏",
    "线性",
    "复杂度",
    "softmax",
    "attention",
    "query",
    "key",
    "value",
]


def make_note(rng: random.Random, i: int, n: int) -> str:
    size = rng.randint(2_000, 20_000)
    links = " ".join(f"[[note-{rng.randrange(n)}]]" for _ in range(rng.randint(1, 6)))
    parts = [
        "---",
        f"title: 笔记 {i}",
        f"tags: [attention, topic/{i % 17}]",
        "created: '2025-10-19'",
        f"next_review: '2026-11-{1 + i % 28:02d}'",
        f"review_count: {i % 5}",
        "---",
        f"# 笔记 {i}",
        "",
        f"相关: {links} [md](note-{rng.randrange(n)}.md)",
        "",
        f"### Q: 问题 {i}？",
        "**标准回答：**",
        "回答。",
        "",
        "```python",
        "x = [[1, 2], [3, 4]]  # [[not-a-link]]",
        "```",
        "",
    ]
    text = "\n".join(parts)
    while len(text.encode()) < size:
        text += " ".join(rng.choice(WORDS) for _ in range(40)) + "。\n\n"
    return text


def generate(root: Path, n: int) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / ".attnkb").mkdir(parents=True)  # a vault: reading commands keep their cache only in one
    rng = random.Random(0)
    for i in range(n):
        folder = root / f"d{i % 50}"
        folder.mkdir(exist_ok=True)
        (folder / f"note-{i}.md").write_text(make_note(rng, i, n), encoding="utf-8")
    write_log(root, n, rng)


def write_log(root: Path, n: int, rng: random.Random) -> None:
    """Four reviews each for every fifth note's card, over the last two months."""
    from attnkb.srs.cards import card_id
    from attnkb.srs.log import HEADER, LOG_DIR, Entry

    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    lines = [HEADER]
    for i in range(0, n, 5):
        when = start + timedelta(days=rng.randrange(10))
        for gap in (0, 1, 4, 12):
            when += timedelta(days=gap, minutes=rng.randrange(600))
            entry = Entry(
                when, card_id(f"问题 {i}？"), rng.choice((1, 3, 3, 3, 4)), 5000, f"d{i % 50}/note-{i}.md"
            )
            lines.append(entry.line())
    (root / ".attnkb" / LOG_DIR).mkdir(parents=True, exist_ok=True)
    (root / ".attnkb" / LOG_DIR / "bench.log").write_text("".join(lines), encoding="utf-8")


WITHOUT_FTS = (
    "import attnkb.search as s, sys; s.document = lambda note, text, **_: None;"
    " s.create = s.drop = lambda db: None; s.sync = lambda *a, **k: None;"
    " from attnkb.cli import main; sys.argv[0] = 'attnkb'; main()"
)
NOW = "2026-11-21T10:00:00+00:00"  # the review log's dates are due around then


def run(args: list[str], code: str | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys, workers included) and peak MB of one run."""
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "attnkb", *args]
    env = {**os.environ, "ATTNKB_NOW": NOW}
    # as Python runs by default: bytecode cached (a machine setting PYTHONDONTWRITEBYTECODE
    # would recompile attnkb's sources on every run, ~20 ms that no installed copy pays)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def show(label: str, results: list[tuple[float, float, float]], target: str = "") -> tuple[float, float]:
    wall = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    peak = max(r[2] for r in results)
    what = f"median of {len(results)}" if len(results) > 1 else "one run"
    aim = f"   target {target}" if target else ""
    print(f"{label:<34} {wall:6.2f}s wall {cpu:6.2f}s CPU {peak:6.0f} MB peak  ({what}){aim}", flush=True)
    return wall, cpu


def report(
    label: str, args: list[str], runs: int = 1, target: str = "", code: str | None = None
) -> tuple[float, float]:
    return show(label, [run(args, code) for _ in range(runs)], target)


def cold_index(root: Path, code: str | None = None) -> tuple[tuple[float, float, float], int]:
    """One run of indexing the vault from nothing (wall, CPU, peak) and the index's size."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        (root / ".attnkb" / f"index.sqlite{suffix}").unlink(missing_ok=True)
    result = run(["--vault", str(root), "list", "--json"], code)
    return result, (root / ".attnkb" / "index.sqlite").stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/attnkb-bench-vault")
    ap.add_argument("--runs", type=int, default=5, help="runs of each warm command (median)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing generated vault")
    ap.add_argument("--cold-runs", type=int, default=5, help="runs of each cold index (median)")
    args = ap.parse_args()
    root = Path(args.dir)
    vault = ["--vault", str(root)]
    t0 = time.perf_counter()
    if not (args.reuse and root.is_dir()):
        generate(root, args.notes)
    size = sum(p.stat().st_size for p in root.rglob("*.md"))
    print(f"{args.notes} notes, {size / 1e6:.1f} MB, ready in {time.perf_counter() - t0:.1f}s")
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    runs = args.runs
    report("python alone (-c pass)", [], runs, code="pass")  # what every figure below includes
    report("--help", ["--help"], runs, "<= 0.2 s")
    # one run of each is at the mercy of the machine's moods (±25% seen here): the two are
    # alternated, so that each pair shares its conditions
    plain_runs, full_runs = [], []
    for _ in range(args.cold_runs):
        result, plain = cold_index(root, WITHOUT_FTS)
        plain_runs.append(result)
        result, full = cold_index(root)
        full_runs.append(result)
    plain_wall, plain_cpu = show("cold index without full text", plain_runs)
    wall, cpu = show("cold index (list --json)", full_runs, "<= 10 s")
    # the machine's speed drifts over minutes: each pair's own ratio, whose median is steadier
    # than the ratio of the two medians (both are printed)
    pairs = sorted(100 * (f[0] / p[0] - 1) for p, f in zip(plain_runs, full_runs, strict=True))
    print(
        f"{'full text costs the cold index':<34} +{statistics.median(pairs):.0f}% wall (median of"
        f" {len(pairs)} pairs, {pairs[0]:+.0f}% to {pairs[-1]:+.0f}%; of the medians"
        f" +{100 * (wall / plain_wall - 1):.0f}% wall, +{100 * (cpu / plain_cpu - 1):.0f}% CPU)"
        f" target <= +30%; +{(full - plain) / 1e6:.0f} MB of {full / 1e6:.0f} MB"
    )
    report("list --json warm", [*vault, "list", "--json"], runs)
    report("due --json, first after indexing", [*vault, "due", "--json"])
    report("due --json warm", [*vault, "due", "--json"], runs, "<= 0.8 s, <= 150 MB")
    report("stats warm", [*vault, "stats"], runs, "<= 1.0 s")
    report("check cold (nothing kept yet)", [*vault, "check", "--json"])
    report("check warm", [*vault, "check", "--json"], runs, "<= 1.5 s")
    # every note holds every word of these (but the last) hundreds of times: bm25's worst case
    for query in (
        ["注意力"],
        ["键"],
        ["缩放", "点积"],
        ["atten"],
        ["query", "掩码", "-softmax"],
        ["笔记", "4242"],
    ):
        report(f"search {' '.join(query)} warm", [*vault, "search", *query], runs, "<= 0.3 s")


if __name__ == "__main__":
    main()
