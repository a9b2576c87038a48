"""Generate a synthetic vault and time cold and warm runs of `attnkb list --json` and `check`.

    python benchmarks/vault.py [--notes 10000] [--dir /tmp/attnkb-bench]

Notes are 2-20 KB of CJK and English text with front matter, wikilinks, Markdown links,
Q&A cards and code fences. Each timing is the whole process, as a user runs it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
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


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "attnkb", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=10_000)
    ap.add_argument("--dir", default="/tmp/attnkb-bench-vault")
    args = ap.parse_args()
    root = Path(args.dir)
    t0 = time.perf_counter()
    generate(root, args.notes)
    size = sum(p.stat().st_size for p in root.rglob("*.md"))
    print(f"generated {args.notes} notes, {size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s")
    print(f"--help: {timed(['--help']):.3f}s")
    print(f"list --json cold: {timed(['--vault', str(root), 'list', '--json']):.2f}s")
    warm = sorted(timed(["--vault", str(root), "list", "--json"]) for _ in range(5))
    print(f"list --json warm: median {warm[2]:.3f}s (min {warm[0]:.3f}s)")
    (root / ".attnkb" / "index.sqlite").unlink()
    print(f"check cold: {timed(['--vault', str(root), 'check', '--json']):.2f}s")
    warm = sorted(timed(["--vault", str(root), "check", "--json"]) for _ in range(3))
    print(f"check warm: median {warm[1]:.3f}s")


if __name__ == "__main__":
    main()
