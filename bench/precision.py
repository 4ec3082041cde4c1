"""Benchmark (not a test): int8 (and fp16) against fp32 in ONNX Runtime on this CPU.

    .venv/bin/python -m bench.precision --fp32 A.onnx --reduced B.onnx [--rounds 5] [--calls 10]

Both models with the server's settings (`OnnxModel`: intra-op threads = available cores, no
spinning), interleaved round by round: in each round CALLS runs of each at batch 1, then at
batch 8. Reports the median ms per run over the rounds, the range of the rounds' medians, and
the speed-up (fp32 time / reduced time) per round. Prints the CPU's flags that matter for int8
(AVX2, AVX-512 VNNI, AVX-VNNI).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from inference.server.runtime import OnnxModel

OUTPUTS = ["probs", "cams"]


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = set(next((line for line in text.splitlines() if line.startswith("flags")),
                     "").split())
    return ", ".join(f"{name} {'yes' if name in flags else 'no'}"
                     for name in ("avx2", "avx512f", "avx512_vnni", "avx_vnni"))


def median_ms(model: OnnxModel, batch: np.ndarray, calls: int) -> float:
    times = []
    for _ in range(calls):
        begun = time.perf_counter()
        model.run({"images": batch}, OUTPUTS)
        times.append(time.perf_counter() - begun)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.precision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fp32", type=Path, required=True)
    parser.add_argument("--reduced", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    batches = {size: rng.standard_normal((size, 3, 224, 224), dtype=np.float32)
               for size in (1, 8)}
    models = {"fp32": OnnxModel(args.fp32), "reduced": OnnxModel(args.reduced)}
    for model in models.values():
        for batch in batches.values():
            model.run({"images": batch}, OUTPUTS)
    load_before = os.getloadavg()
    times = {(name, size): [] for name in models for size in batches}
    for round_ in range(args.rounds):
        for size, batch in batches.items():
            for name, model in models.items():
                times[name, size].append(median_ms(model, batch, args.calls))
        print(f"round {round_ + 1}: " + ", ".join(f"{name} b{size} {values[-1]:.1f} ms"
                                                 for (name, size), values in times.items()),
              file=sys.stderr)
    print(f"CPU: {cpu_flags()}; {len(os.sched_getaffinity(0))} cores available; load average "
          f"before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"{args.rounds} rounds x {args.calls} calls, interleaved\n")
    print("| batch | fp32 ms (median, rounds' range) | reduced ms | speed-up (median, range) |")
    print("|---:|---:|---:|---:|")
    for size in batches:
        fp32, reduced = times["fp32", size], times["reduced", size]
        speedup = [a / b for a, b in zip(fp32, reduced, strict=True)]
        print(f"| {size} | {statistics.median(fp32):.1f} ({min(fp32):.1f}-{max(fp32):.1f}) | "
              f"{statistics.median(reduced):.1f} ({min(reduced):.1f}-{max(reduced):.1f}) | "
              f"{statistics.median(speedup):.2f} ({min(speedup):.2f}-{max(speedup):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
