"""Benchmark (not a test): the GraphPipe model server against ONNX Runtime in this process.

    .venv/bin/python -m bench.graphpipe [--rounds 8] [--wait-for-load 1.0] [--write docs/benchmarks.md]

Serves the exported stand-in CheXNet (exported with `inference.model.export` if missing) from two
server processes started as the Procfile does, one with dynamic batching (`--max-batch 8`, the
default wait) and one without (`--max-batch 1`, the default), and measures, interleaved round by
round so that each ratio is taken side by side under the same conditions:

- one client, batch 1: server throughput vs `OnnxModel.run` in this process at batch 1;
- eight concurrent single-image clients (one `GraphPipeClient` each, as the worker has): server
  throughput with batching vs `OnnxModel.run` at batch 8, and vs the server without batching;
- p50 / p99 latency of each load, pooled over the rounds;
- flatbuffer encode + decode of one [1,3,224,224] float32 request vs JSON of the same.

Every call asks for both outputs (`probs`, `cams`), as the worker does. In process the model runs
two ways, interleaved: with ONNX Runtime's defaults (what a user who runs the model in process
gets: its own thread count, spinning on) and with the server's settings (intra-op threads =
available cores, one inter-op thread, spinning as the server's flags say). Each round's ratio is
taken against the faster of the two in that round; the ratios reported are the medians over the
rounds, with their range. `--server-flags` adds flags to both servers (e.g. `--spinning`). --write replaces the HEADING section of the
given markdown file (or appends it).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime
import requests

from bench.report import write_section
from inference.graphpipe.client import GraphPipeClient
from inference.server.runtime import OnnxModel, available_cores
from inference.server.options import BATCHING_MAX_BATCH, DEFAULT_MAX_WAIT_MS
from inference.graphpipe.wire import decode_request, encode_infer_request

REPO = Path(__file__).resolve().parents[1]
STANDIN_CHECKPOINT = REPO.parent / "shared" / "models" / "chexnet-standin.pth.tar"
BENCH_MODEL = REPO / "build" / "bench" / "chexnet-standin.onnx"
TEST_MODELS = REPO / "build" / "test-models"
HEADING = "## GraphPipe server"
OUTPUTS = ["probs", "cams"]
CLIENTS = 8
HALF_BATCH = CLIENTS // 2  # a second batching server: one half runs while the other half sends
LOADS = ("default1", "inproc1", "server1", "default8", "inproc8", "batched8", "halfbatch8",
         "unbatched8")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PACKAGES = ("onnxruntime", "numpy", "flatbuffers", "urllib3", "prometheus-client", "uvicorn",
            "httptools")


# --- set-up --------------------------------------------------------------------------------------

def standin_model() -> Path:
    if BENCH_MODEL.exists():
        return BENCH_MODEL
    cached = sorted(TEST_MODELS.glob("chexnet-standin-*.onnx"))
    if cached:
        return cached[-1]
    BENCH_MODEL.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "inference.model.export", "--checkpoint",
                    str(STANDIN_CHECKPOINT), "--output", str(BENCH_MODEL)], cwd=REPO, check=True)
    return BENCH_MODEL


def procfile_model_command() -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "model":
            return command.strip()
    raise SystemExit("no model process in the Procfile")


class ServerProcess:
    """The Procfile's model command, with extra flags appended."""

    def __init__(self, model: Path, port: int, *flags: str):
        self.url = f"http://127.0.0.1:{port}"
        command = procfile_model_command() + "".join(f" {flag}" for flag in flags)
        env = {**os.environ, "CHEXNET_ONNX": str(model), "GRAPHPIPE_LISTEN": f"127.0.0.1:{port}",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.popen = subprocess.Popen(["bash", "-c", command], cwd=REPO, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/control/is_ready", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise SystemExit(f"the model server on port {port} did not start")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server's processes so far (its process group)."""
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[2]) == self.popen.pid:  # pgrp: start_new_session made it ours
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def stop(self) -> None:
        os.killpg(self.popen.pid, 15)
        self.popen.wait(30)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_load(limit: float, patience_s: float) -> None:
    deadline = time.monotonic() + patience_s
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        print(f"load {os.getloadavg()[0]:.2f} > {limit}: waiting", file=sys.stderr)
        time.sleep(60)


# --- loads ---------------------------------------------------------------------------------------

class DefaultSession:
    """The model as a user runs it in process: ONNX Runtime's default session options."""

    def __init__(self, path: Path):
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(self, feeds, output_names):
        return self.session.run(output_names, feeds)


class Measured(NamedTuple):
    throughput: float  # images per second
    latencies: list[float]  # seconds, one per call
    cpu_s: float  # CPU seconds of this side (the process in process; the client threads)
    images: int


def in_process(model: OnnxModel | DefaultSession, batch: np.ndarray, calls: int) -> Measured:
    """CALLS runs; the CPU is this process's (its other threads are idle meanwhile)."""
    latencies = []
    cpu = time.process_time()
    started = time.perf_counter()
    for _ in range(calls):
        begun = time.perf_counter()
        model.run({"images": batch}, OUTPUTS)
        latencies.append(time.perf_counter() - begun)
    return Measured(calls * len(batch) / (time.perf_counter() - started), latencies,
                    time.process_time() - cpu, calls * len(batch))


def one_client(client: GraphPipeClient, image: np.ndarray, calls: int) -> Measured:
    """CALLS requests; the CPU is the client thread's own (encode, HTTP, decode)."""
    latencies = []
    cpu = time.thread_time()
    started = time.perf_counter()
    for _ in range(calls):
        begun = time.perf_counter()
        client.infer(image, output_names=OUTPUTS)
        latencies.append(time.perf_counter() - begun)
    return Measured(calls / (time.perf_counter() - started), latencies, time.thread_time() - cpu,
                    calls)


def concurrent_clients(clients: list[GraphPipeClient], images: list[np.ndarray],
                       calls: int) -> Measured:
    """Each client sends CALLS single-image requests back to back, all clients at once; the CPU
    is the client threads' own."""
    latencies: list[float] = []
    cpu: list[float] = []
    barrier = threading.Barrier(len(clients) + 1)

    def work(client: GraphPipeClient, image: np.ndarray) -> None:
        barrier.wait()
        begun_cpu = time.thread_time()
        for _ in range(calls):
            begun = time.perf_counter()
            client.infer(image, output_names=OUTPUTS)
            latencies.append(time.perf_counter() - begun)
        cpu.append(time.thread_time() - begun_cpu)

    threads = [threading.Thread(target=work, args=pair) for pair in zip(clients, images,
                                                                         strict=True)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return Measured(len(clients) * calls / (time.perf_counter() - started), latencies, sum(cpu),
                    len(clients) * calls)


def thread_study(model_path: Path, image: np.ndarray, batch8: np.ndarray,
                 runs: int) -> list[tuple[int, float, float, float, float]]:
    """(intra-op threads, median ms at batch 1, median ms at batch 8, and the median CPU ms of
    each) for 1 thread and for every available core (the server's default), interleaved."""
    counts = sorted({1, available_cores()})
    models = {count: OnnxModel(model_path, intra_op_threads=count) for count in counts}
    times: dict[tuple[int, int], list[float]] = {}
    cpu: dict[tuple[int, int], list[float]] = {}
    for _ in range(runs):
        for count, model in models.items():
            for batch in (image, batch8):
                measured = in_process(model, batch, 1)
                times.setdefault((count, len(batch)), []).extend(measured.latencies)
                cpu.setdefault((count, len(batch)), []).append(measured.cpu_s)
    return [(count, *(statistics.median(series[count, rows]) * 1000
                      for series in (times, cpu) for rows in (1, 8))) for count in counts]


def batch_rows(url: str) -> tuple[float, float]:
    """(rows, model runs) so far, from the server's /metrics."""
    found = {}
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("graphpipe_batch_rows_sum", "graphpipe_batch_rows_count"):
            found[name] = float(value)
    return found["graphpipe_batch_rows_sum"], found["graphpipe_batch_rows_count"]


def codec_times(image: np.ndarray, repeats: int) -> tuple[float, float, int, int]:
    """Median seconds of encode + decode of one request: flatbuffers, JSON; and their sizes."""
    def flatbuffers_once() -> int:
        body = encode_infer_request([image], output_names=OUTPUTS)
        decode_request(body)
        return len(body)

    def json_once() -> int:
        body = json.dumps({"inputs": [image.tolist()], "output_names": OUTPUTS})
        np.asarray(json.loads(body)["inputs"][0], dtype=np.float32)
        return len(body)

    sizes = (flatbuffers_once(), json_once())
    times = []
    for once, count in ((flatbuffers_once, repeats * 20), (json_once, repeats)):
        samples = []
        for _ in range(count):
            begun = time.perf_counter()
            once()
            samples.append(time.perf_counter() - begun)
        times.append(statistics.median(samples))
    return times[0], times[1], *sizes


# --- report --------------------------------------------------------------------------------------

def percentile_ms(latencies: list[float], fraction: float) -> float:
    return float(np.percentile(np.array(latencies), fraction * 100)) * 1000


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def run(args) -> str:
    load_before = os.getloadavg()
    model_path = standin_model()
    rng = np.random.default_rng(0)
    images = [rng.standard_normal((1, 3, 224, 224), dtype=np.float32) for _ in range(CLIENTS)]
    batch8 = np.concatenate(images)
    flags = args.server_flags.split()
    threads_flag = flags[flags.index("--threads") + 1] if "--threads" in flags else None
    model = OnnxModel(model_path, spinning="--spinning" in flags,
                      intra_op_threads=int(threads_flag) if threads_flag else None)
    default = DefaultSession(model_path)
    servers = {
        "batched8": ServerProcess(model_path, free_port(), "--max-batch", str(BATCHING_MAX_BATCH),
                                  *flags),
        "halfbatch8": ServerProcess(model_path, free_port(), "--max-batch",
                                    str(HALF_BATCH), *flags),
        "unbatched8": ServerProcess(model_path, free_port(), "--max-batch", "1", *flags),
    }
    servers["server1"] = servers["batched8"]
    results: dict[str, list] = {key: [] for key in LOADS}
    latencies: dict[str, list[float]] = {key: [] for key in results}
    cpu_ms = {side: {key: [] for key in results} for side in ("this", "server")}
    runs_rows = [0.0, 0.0]  # rows and model runs of the batching server under 8 clients
    try:
        single = GraphPipeClient(servers["server1"].url)
        clients = {key: [GraphPipeClient(servers[key].url) for _ in range(CLIENTS)]
                   for key in ("batched8", "halfbatch8", "unbatched8")}
        loads = {
            "default1": lambda: in_process(default, images[0], args.single_calls),
            "inproc1": lambda: in_process(model, images[0], args.single_calls),
            "server1": lambda: one_client(single, images[0], args.single_calls),
            "default8": lambda: in_process(default, batch8, args.batch_calls),
            "inproc8": lambda: in_process(model, batch8, args.batch_calls),
            **{key: (lambda key=key: concurrent_clients(clients[key], images, args.batch_calls))
               for key in clients},
        }
        for warm in range(2):  # warm-up: sessions, connections, allocator
            in_process(model, images[0], 3)
            in_process(model, batch8, 1)
            in_process(default, images[0], 3)
            in_process(default, batch8, 1)
            one_client(single, images[0], 3)
            for key in clients:
                concurrent_clients(clients[key], images, 2)
        for round_ in range(args.rounds):
            for key, measure in loads.items():
                server = servers.get(key)
                before = batch_rows(server.url) if key == "batched8" else None
                server_cpu = server.cpu_seconds() if server else 0.0
                measured = measure()
                results[key].append(measured.throughput)
                latencies[key].extend(measured.latencies)
                cpu_ms["this"][key].append(measured.cpu_s / measured.images * 1000)
                if server:
                    cpu_ms["server"][key].append(
                        (server.cpu_seconds() - server_cpu) / measured.images * 1000)
                if before is not None:
                    after = batch_rows(server.url)
                    runs_rows[0] += after[0] - before[0]
                    runs_rows[1] += after[1] - before[1]
            print(f"round {round_ + 1} (load {os.getloadavg()[0]:.2f}): " + ", ".join(
                f"{key} {values[-1]:.1f}/s" for key, values in results.items()), file=sys.stderr)
    finally:
        for server in {id(server): server for server in servers.values()}.values():
            server.stop()
    flat_s, json_s, flat_bytes, json_bytes = codec_times(images[0], args.codec_repeats)
    threads = thread_study(model_path, images[0], batch8, args.thread_runs)
    return report(args, results, latencies, cpu_ms, (flat_s, json_s, flat_bytes, json_bytes),
                  threads,
                  runs_rows[0] / max(runs_rows[1], 1), load_before, os.getloadavg())


def report(args, results, latencies, cpu_ms, codec, threads, mean_batch, load_before,
           load_after) -> str:
    def ratio(numerator: str, *denominators: str) -> list[float]:
        """Each round's NUMERATOR over the fastest of DENOMINATORS in that round."""
        best = [max(values) for values in zip(*(results[key] for key in denominators),
                                                strict=True)]
        return [a / b for a, b in zip(results[numerator], best, strict=True)]

    def spread(values: list[float]) -> str:
        return (f"{statistics.median(values):.3f} (rounds: {min(values):.3f}-"
                f"{max(values):.3f})")

    single_ratio = ratio("server1", "inproc1", "default1")
    batch_ratio = ratio("batched8", "inproc8", "default8")
    single_server_settings = ratio("server1", "inproc1")
    single_defaults = ratio("server1", "default1")
    batch_server_settings = ratio("batched8", "inproc8")
    batch_defaults = ratio("batched8", "default8")
    gain = ratio("batched8", "unbatched8")
    half_ratio = ratio("halfbatch8", "inproc8", "default8")

    def cpu_ratio(in_process: str, served: str) -> list[float]:
        """Each round's CPU per image in process over the server's plus its clients': the
        throughput ratio to expect when every core is busy, which a busy machine's
        scheduling (a server process of its own gets its own share) does not blur."""
        return [model / (server + client) for model, server, client in zip(
            cpu_ms["this"][in_process], cpu_ms["server"][served], cpu_ms["this"][served],
            strict=True)]
    flat_s, json_s, flat_bytes, json_bytes = codec

    def verdict(values: list[float], target: float) -> str:
        return "met" if statistics.median(values) >= target else "NOT met"

    flags = args.server_flags.split()
    spinning = "on" if "--spinning" in flags else "off"
    intra_op = flags[flags.index("--threads") + 1] if "--threads" in flags else available_cores()
    rows = [
        ("In-process, ONNX Runtime defaults, batch 1", "default1", "spinning on"),
        ("In-process, the server's settings, batch 1", "inproc1", f"spinning {spinning}"),
        ("Server, one client, batch 1", "server1", "batching server"),
        ("In-process, ONNX Runtime defaults, batch 8", "default8", "spinning on"),
        ("In-process, the server's settings, batch 8", "inproc8", f"spinning {spinning}"),
        ("Server, 8 clients, dynamic batching", "batched8",
         f"`--max-batch {BATCHING_MAX_BATCH}`"),
        ("Server, 8 clients, dynamic batching, half batches", "halfbatch8",
         f"`--max-batch {HALF_BATCH}`"),
        ("Server, 8 clients, `--max-batch 1`", "unbatched8", "no batching"),
    ]

    def cpu(side: str, key: str) -> str:
        values = cpu_ms[side][key]
        return f"{statistics.median(values):.1f}" if values else "-"

    table = ["| load | images/s (median of rounds) | p50 ms | p99 ms | CPU ms per image: in "
             "process or client / server | note |",
             "|---|---:|---:|---:|---:|---|"]
    for label, key, note in rows:
        table.append(f"| {label} | {statistics.median(results[key]):.2f} | "
                     f"{percentile_ms(latencies[key], 0.5):.1f} | "
                     f"{percentile_ms(latencies[key], 0.99):.1f} | "
                     f"{cpu('this', key)} / {cpu('server', key)} | {note} |")
    command = ("`.venv/bin/python -m bench.graphpipe "
               + " ".join(args.argv_for_doc) + "`")
    lines = [
        HEADING,
        "",
        f"Command: {command}",
        "",
        f"- Machine: {os.cpu_count()} CPUs (`nproc`: {available_cores()} available), "
        f"{cpu_model()}; Python {platform.python_version()}; {versions()}.",
        f"- Model: the exported stand-in CheXNet (DenseNet-121, ~5.7 GFLOP per image), outputs "
        f"`probs` and `cams` asked for on every call. In process two ways: ONNX Runtime's "
        f"default session options (spinning on), and the server's settings (intra-op threads "
        f"{intra_op}, inter-op 1, spinning {spinning}); each ratio is against the "
        f"faster of the two in its round.",
        f"- Server: the Procfile's `model:` command (uvicorn {_version('uvicorn')} with "
        f"httptools), extra flags `{args.server_flags or 'none'}`; the batching server with "
        f"`--max-batch {BATCHING_MAX_BATCH} --max-wait-ms {DEFAULT_MAX_WAIT_MS:g}`, the other "
        f"with the default `--max-batch 1`, a third with `--max-batch {HALF_BATCH}`. Clients: `inference.graphpipe.client.GraphPipeClient`, one per thread, in "
        f"the benchmark process, on 127.0.0.1.",
        f"- {args.rounds} rounds, each running every load in turn ({args.single_calls} calls at "
        f"batch 1, {args.batch_calls} calls per client or batch-8 run), after a warm-up. "
        f"Latencies pooled over the rounds.",
        f"- Load average (1, 5, 15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} "
        f"{load_after[2]:.2f} (a shared machine: other work may have run beside it).",
        "",
        "| ratio | measured | target |",
        "|---|---:|---|",
        f"| server / in-process (the faster), one client, batch 1 | {spread(single_ratio)} | "
        f">= 0.95: {verdict(single_ratio, 0.95)} |",
        f"| ... against ONNX Runtime defaults / against the server's settings | "
        f"{spread(single_defaults)} / {spread(single_server_settings)} | |",
        f"| server with batching, 8 clients / in-process batch 8 (the faster) | "
        f"{spread(batch_ratio)} | >= 0.95: {verdict(batch_ratio, 0.95)} |",
        f"| ... against ONNX Runtime defaults / against the server's settings | "
        f"{spread(batch_defaults)} / {spread(batch_server_settings)} | |",
        f"| ... the same with `--max-batch {HALF_BATCH}` (half batches) | {spread(half_ratio)} | |",
        f"| CPU per image, in process (server's settings) / server + client: one client, "
        f"batch 1 | {spread(cpu_ratio('inproc1', 'server1'))} | the ratio on busy cores |",
        f"| ... 8 clients, batching; with `--max-batch {HALF_BATCH}` | "
        f"{spread(cpu_ratio('inproc8', 'batched8'))}; "
        f"{spread(cpu_ratio('inproc8', 'halfbatch8'))} | |",
        f"| 8 clients: batching / `--max-batch 1` | {spread(gain)} | gain (mean rows per "
        f"model run with batching: {mean_batch:.2f}) |",
        f"| JSON / flatbuffer, encode + decode of one [1,3,224,224] request | "
        f"{json_s / flat_s:.0f}x | flatbuffers {flat_s * 1000:.2f} ms ({flat_bytes / 1e3:.0f} kB), "
        f"JSON {json_s * 1000:.0f} ms ({json_bytes / 1e6:.1f} MB) |",
        "",
        *table,
        "",
        f"ONNX Runtime intra-op threads, in process, median of {args.thread_runs} runs each "
        f"(interleaved, after the loads above):",
        "",
        "| intra-op threads | batch 1 ms | batch 8 ms | batch 8 ms per image | CPU ms, batch 1 | "
        "CPU ms per image, batch 8 |",
        "|---:|---:|---:|---:|---:|---:|",
        *[f"| {count} | {one:.1f} | {eight:.1f} | {eight / 8:.1f} | {cpu_one:.1f} | "
          f"{cpu_eight / 8:.1f} |" for count, one, eight, cpu_one, cpu_eight in threads],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graphpipe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--single-calls", type=int, default=30,
                        help="batch-1 calls per round, in process and to the server")
    parser.add_argument("--batch-calls", type=int, default=6,
                        help="batch-8 runs in process, and calls per client, per round")
    parser.add_argument("--codec-repeats", type=int, default=5)
    parser.add_argument("--thread-runs", type=int, default=5,
                        help="runs per setting when comparing intra-op thread counts")
    parser.add_argument("--wait-for-load", type=float, metavar="LOAD",
                        help="first wait (up to 10 minutes) for the 1-minute load to fall "
                             "below LOAD")
    parser.add_argument("--server-flags", default="",
                        help="extra flags for both model servers, e.g. '--spinning'")
    parser.add_argument("--write", type=Path, metavar="MARKDOWN")
    args = parser.parse_args(argv)
    args.argv_for_doc = list(sys.argv[1:] if argv is None else argv)
    if args.wait_for_load is not None:
        wait_for_load(args.wait_for_load, 600)
    section = run(args)
    print(section)
    if args.write:
        write_section(args.write, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
