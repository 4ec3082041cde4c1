"""Benchmark (not a test): the model server on a CUDA GPU, batch 1 and batch 8-64 with batching.

    bash bench/gpu.sh            # makes the venv (onnxruntime-gpu), then runs this
    python -m bench.gpu --model build/bench/chexnet-standin.onnx [--seconds 10]

Needs an ONNX Runtime with the CUDA execution provider (requirements-model-server-gpu.txt).
Measures, on the GPU: in process (ONNX Runtime, CUDA EP) batch 1, 8, 16, 32, 64; the server
(`--device cuda --max-batch 1`) with one client at batch 1; the server with dynamic batching
(`--device cuda --max-batch 64 --max-wait-ms 5`) with 8, 16, 32 and 64 single-image clients
(threads with a GraphPipeClient each; on a 16-core host the clients' own encoding may bound
the figure: the table says how busy the client process was).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.graphpipe import OUTPUTS, ServerProcess, concurrent_clients, free_port, one_client
from inference.graphpipe.client import GraphPipeClient
from inference.server.runtime import OnnxModel


def timed_runs(model: OnnxModel, batch: np.ndarray, seconds: float) -> tuple[float, float]:
    """(images per second, median ms per run) of runs for about SECONDS."""
    model.run({"images": batch}, OUTPUTS)
    times = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        begun = time.perf_counter()
        model.run({"images": batch}, OUTPUTS)
        times.append(time.perf_counter() - begun)
    return len(times) * len(batch) / sum(times), statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = ["| load | images/s | median ms per call | note |", "|---|---:|---:|---|"]
    model = OnnxModel(args.model, device="cuda")
    for size in (1, 8, 16, 32, 64):
        batch = rng.standard_normal((size, 3, 224, 224), dtype=np.float32)
        rate, ms = timed_runs(model, batch, args.seconds)
        lines.append(f"| in process, CUDA EP, batch {size} | {rate:.1f} | {ms:.1f} | |")
        print(lines[-1], flush=True)
    del model
    image = rng.standard_normal((1, 3, 224, 224), dtype=np.float32)
    single = ServerProcess(args.model, free_port(), "--device", "cuda", "--max-batch", "1")
    try:
        client = GraphPipeClient(single.url)
        one_client(client, image, 10)
        calls = max(20, int(args.seconds * 50))
        rate, latencies = one_client(client, image, calls)
        lines.append(f"| server, 1 client, batch 1 | {rate:.1f} | "
                     f"{statistics.median(latencies) * 1000:.1f} | `--max-batch 1` |")
        print(lines[-1], flush=True)
    finally:
        single.stop()
    batching = ServerProcess(args.model, free_port(), "--device", "cuda", "--max-batch", "64",
                             "--max-wait-ms", "5")
    try:
        for clients in (8, 16, 32, 64):
            pool = [GraphPipeClient(batching.url) for _ in range(clients)]
            images = [image] * clients
            concurrent_clients(pool, images, 2)
            cpu_before = os.times()
            rate, latencies = concurrent_clients(pool, images, max(5, int(args.seconds * 400
                                                                           / clients)))
            cpu = os.times()
            busy = (cpu.user + cpu.system - cpu_before.user - cpu_before.system)
            lines.append(f"| server, {clients} clients, dynamic batching | {rate:.1f} | "
                         f"{statistics.median(latencies) * 1000:.1f} | `--max-batch 64 "
                         f"--max-wait-ms 5`; client process CPU {busy:.1f} s |")
            print(lines[-1], flush=True)
    finally:
        batching.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
