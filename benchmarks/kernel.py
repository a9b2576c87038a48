"""Time our scaled-dot attention against torch's SDPA on the same inputs, in one run.

    python benchmarks/kernel.py [--runs 5] [--sizes 1024 4096] [--paths ours causal torch plain]

B=1, H=8, E=64, float32. Paths: ours (blocked, no mask), causal (blocked with mask="causal",
whose mask is built tile by tile), torch (SDPA), plain (the full weight matrix). Reports the median of the runs, the time ratio ours/torch, and the
extra peak memory (resident set high-water mark above the inputs) of each path, each measured
in a fresh subprocess so that one path's allocations cannot hide another's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SHAPE = (1, 8, None, 64)


def inputs(n: int):
    rng = np.random.default_rng(0)
    shape = (1, 8, n, 64)
    return tuple(rng.standard_normal(shape, dtype=np.float32) for _ in range(3))


def run(path: str, q, k, v):
    if path == "torch":
        import torch
        import torch.nn.functional as F

        tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
        return lambda: F.scaled_dot_product_attention(tq, tk, tv)
    from attnkb.kernel import attention

    need = path == "plain"
    mask = "causal" if path == "causal" else None
    return lambda: attention(q, k, v, need_weights=need, mask=mask)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def measure_memory(path: str, n: int) -> float:
    """Child process: extra peak RSS (MiB) of one call above the inputs already in memory."""
    q, k, v = inputs(n)
    fn = run(path, q, k, v)
    if path == "torch":
        import torch

        torch.set_num_threads(torch.get_num_threads())
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
        f.write("5")
    base = _rss_kib("VmRSS")
    fn()
    return (_rss_kib("VmHWM") - base) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--paths", nargs="+", default=["ours", "causal", "torch", "plain"])
    ap.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        print(json.dumps(measure_memory(args.memory_child[0], int(args.memory_child[1]))))
        return
    paths = args.paths
    try:
        import torch  # noqa: F401
    except ImportError:
        paths = [p for p in paths if p != "torch"]
        print("torch is not installed: reporting our paths only")
    print(f"B=1 H=8 E=64 float32, median of {args.runs} runs")
    header = f"{'N':>6} {'path':>6} {'median ms':>10} {'extra peak MiB':>15}"
    print(header)
    for n in args.sizes:
        q, k, v = inputs(n)
        medians = {}
        for path in paths:
            fn = run(path, q, k, v)
            fn()  # warm up
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            medians[path] = statistics.median(times)
            mem = subprocess.run(
                [sys.executable, __file__, "--memory-child", path, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"{n:>6} {path:>6} {medians[path] * 1e3:>10.1f} {float(mem.stdout):>15.1f}")
        if "torch" in medians and "ours" in medians:
            print(f"{n:>6} ratio ours/torch = {medians['ours'] / medians['torch']:.2f}")


if __name__ == "__main__":
    main()
