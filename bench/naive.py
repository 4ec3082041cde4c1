"""Benchmark (not a test): the naive deployment beside ChexWeb, under the same load, in one run.

    .venv/bin/python -m bench.naive [--studies 40] [--latency 15] [--rounds 2] [--json PATH]

The naive deployment is what the GraphPipe article argues against: a Django view that runs the
PyTorch CheXNet in its own process, preprocessing with torchvision (`convert("RGB")`,
`Resize(256)`, `CenterCrop(224)`, `ToTensor`, `Normalize`), answering the upload with the 14
probabilities. It is served by gunicorn with the same Procfile flags as ChexWeb's web (2 sync
workers), each worker holding its own copy of the model. ChexWeb is started as
`bench.end_to_end` starts it (every process by its Procfile command, 1 Celery worker, the
exported stand-in on the GraphPipe model server).

Both get the same images (`bench.end_to_end.distinct_xrays`: distinct 1024x1024 PNG chest
X-rays), the same client (one, in this process, sending one upload after another), the same
CPUs, interleaved round by round:
- burst: --studies uploads one after another; throughput = studies / (last result - first upload
  sent). ChexWeb answers an upload at once and diagnoses it in the background (the result time
  is the study's `finished_at`); the naive view answers when the model has run.
- latency: --latency studies one at a time, each waited for: upload sent to result stored (ChexWeb,
  its `finished_at`) or answered (naive); p50 and p95.
- memory: resident set size (VmRSS) of each process after the loads, and their sum.
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]

CHECKPOINT = REPO.parent / "shared" / "models" / "chexnet-standin.pth.tar"
HEADING = "## The naive deployment beside ChexWeb"


# --- the naive deployment: a Django view with PyTorch in process ------------------------------

def _naive_application():
    import django
    import numpy as np  # noqa: F401  (torchvision's ToTensor needs it)
    import torch
    from django.conf import settings
    from django.http import JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from PIL import Image
    from torchvision import transforms

    from inference.findings import FINDINGS
    from inference.model.checkpoint import load_state_dict
    from inference.model.network import build_network

    settings.configure(DEBUG=False, SECRET_KEY="naive-bench", ALLOWED_HOSTS=["127.0.0.1"],
                       ROOT_URLCONF=__name__, DATA_UPLOAD_MAX_MEMORY_SIZE=50 * 1024 * 1024,
                       FILE_UPLOAD_MAX_MEMORY_SIZE=50 * 1024 * 1024, INSTALLED_APPS=[],
                       MIDDLEWARE=[])
    django.setup()
    network = build_network(load_state_dict(Path(os.environ["NAIVE_CHECKPOINT"])))
    preprocess = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    @csrf_exempt
    def predict(request):
        with Image.open(request.FILES["image"]) as image:
            batch = preprocess(image.convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            probs, _ = network(batch)
        return JsonResponse(dict(zip(FINDINGS, probs[0].tolist(), strict=True)))

    global urlpatterns
    urlpatterns = [path("predict/", predict)]
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


urlpatterns: list = []
if os.environ.get("NAIVE_CHECKPOINT") and __name__ != "__main__":  # under gunicorn
    application = _naive_application()


class NaiveServer:
    def __init__(self):
        from tests.processes import Process, free_port, procfile_command, wait_until

        listen = f"127.0.0.1:{free_port()}"
        self.url = f"http://{listen}"
        web = shlex.split(procfile_command("web"))  # gunicorn chexweb.wsgi --bind ... flags
        flags = [word for word in web[2:] if not word.startswith("--bind")
                 and "CHEXWEB_LISTEN" not in word]
        command = shlex.join([sys.executable, "-m", "gunicorn", "bench.naive:application",
                              "--bind", listen, *_without_bind_value(flags)])
        self.process = Process("bench-naive", command, env={
            "NAIVE_CHECKPOINT": str(CHECKPOINT), "PYTHONPATH": str(REPO)})
        wait_until(lambda: _answers(self.url), timeout=180, what="naive server",
                   process=self.process)

    def predict(self, image: bytes, number: int) -> None:
        response = requests.post(f"{self.url}/predict/", files={
            "image": (f"naive-{number}.png", image, "image/png")}, timeout=300)
        assert response.status_code == 200, response.text[:300]

    def stop(self) -> None:
        self.process.stop(timeout=60)


def _without_bind_value(flags: list[str]) -> list[str]:
    kept, skip = [], False
    for word in flags:
        if skip:
            skip = False
            continue
        if word == "-b":
            skip = True
            continue
        kept.append(word)
    return kept


def _answers(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=2)
        return True
    except requests.ConnectionError:
        return False


# --- measuring --------------------------------------------------------------------------------

def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def group_pids(leader: int) -> list[int]:
    """The processes of LEADER's session (a Procfile line and what it forked)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[3]) == leader:
                found.append(int(entry.name))
    return found


def percentile(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))]


def run(args) -> tuple[str, dict]:
    from bench.end_to_end import (
        BenchStack,
        default_onnx,
        distinct_xrays,
        setup_django,
        upload,
        wait_done,
    )

    load_before = os.getloadavg()
    onnx = default_onnx()
    if onnx is None:
        raise SystemExit("no exported model: run `make test-models` or set CHEXNET_ONNX")
    total = args.rounds * args.studies + args.latency + 2
    chexweb_images, naive_images = distinct_xrays(total), distinct_xrays(total)
    stack = BenchStack(onnx=onnx).start()
    naive = None
    results = {"chexweb": {"burst": [], "latency": []}, "naive": {"burst": [], "latency": []}}
    try:
        stack.scale_workers(1)
        setup_django(stack)
        naive = NaiveServer()
        session, token = stack.session()
        numbers = iter(range(total))

        def chexweb_one() -> float:
            number = next(numbers)
            sent = time.time()
            [study] = wait_done([upload(session, token, stack.base_url, chexweb_images[number],
                                        number)], timeout=300)
            return study.finished_at.timestamp() - sent

        naive_numbers = iter(range(total))

        def naive_one() -> float:
            number = next(naive_numbers)
            sent = time.time()
            naive.predict(naive_images[number], number)
            return time.time() - sent

        chexweb_one(), naive_one()  # warm-up: connections, first model run
        for round_ in range(args.rounds):
            sent = time.time()
            ids = [upload(session, token, stack.base_url, chexweb_images[n], n)
                   for n in [next(numbers) for _ in range(args.studies)]]
            studies = wait_done(ids, timeout=60 * args.studies)
            last = max(study.finished_at.timestamp() for study in studies)
            results["chexweb"]["burst"].append(args.studies / (last - sent))
            sent = time.time()
            for _ in range(args.studies):
                naive_one()
            results["naive"]["burst"].append(args.studies / (time.time() - sent))
            print(f"round {round_ + 1}: chexweb {results['chexweb']['burst'][-1]:.2f}/s, "
                  f"naive {results['naive']['burst'][-1]:.2f}/s", file=sys.stderr)
        for _ in range(args.latency):
            results["chexweb"]["latency"].append(chexweb_one())
            results["naive"]["latency"].append(naive_one())
        memory = {"chexweb": {}, "naive": {}}
        for name, process in stack.processes.items():
            memory["chexweb"][name] = [rss_mib(pid) for pid in group_pids(process.popen.pid)]
        for number, worker in enumerate(stack.workers, start=1):
            memory["chexweb"][f"worker{number}"] = [rss_mib(pid) for pid in
                                                    group_pids(worker.popen.pid)]
        memory["naive"]["web"] = [rss_mib(pid) for pid in group_pids(naive.process.popen.pid)]
    finally:
        if naive is not None:
            naive.stop()
        stack.stop()
    return report(args, results, memory, load_before, os.getloadavg()), {
        "results": results, "memory": memory}


def report(args, results, memory, load_before, load_after) -> str:
    def row(name: str, label: str) -> str:
        burst = results[name]["burst"]
        latency = [seconds * 1000 for seconds in results[name]["latency"]]
        mib = [value for values in memory[name].values() for value in values]
        return (f"| {label} | {statistics.median(burst):.2f} ({min(burst):.2f}-{max(burst):.2f})"
                f" | {percentile(latency, 0.5):.0f} | {percentile(latency, 0.95):.0f} | "
                f"{len(mib)} processes, {sum(mib):.0f} MiB |")

    def processes(name: str) -> str:
        return "; ".join(f"{group} " + " + ".join(f"{value:.0f}" for value in values)
                         for group, values in memory[name].items() if values)

    ratio = [a / b for a, b in zip(results["chexweb"]["burst"], results["naive"]["burst"],
                                   strict=True)]
    return "\n".join([
        HEADING,
        "",
        "Command: `.venv/bin/python -m bench.naive " + " ".join(args.argv_for_doc) + "`",
        "",
        f"- Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; both stacks "
        f"running at once on the same CPUs, the stand-in CheXNet in both (ChexWeb: exported to "
        f"ONNX, on the GraphPipe model server; naive: PyTorch in each gunicorn worker).",
        f"- {args.rounds} rounds of a burst of {args.studies} uploads each, ChexWeb then naive; "
        f"then {args.latency} studies one at a time, alternating. One client, in this process.",
        f"- Load average (1, 5, 15 min) before: {' '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {' '.join(f'{v:.2f}' for v in load_after)}.",
        "",
        "| deployment | burst studies/s (median, range) | p50 ms upload to result | p95 ms | "
        "memory (RSS) |",
        "|---|---:|---:|---:|---|",
        row("chexweb", "ChexWeb (web 2 + 1 worker + model server + beat + Redis)"),
        row("naive", "Naive: Django view + PyTorch in process (gunicorn, 2 workers)"),
        "",
        f"Burst throughput ChexWeb / naive, per round: "
        f"{', '.join(f'{value:.2f}' for value in ratio)}.",
        "",
        f"Resident memory per process, MiB: ChexWeb: {processes('chexweb')}. Naive: "
        f"{processes('naive')}.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.naive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--studies", type=int, default=40, help="uploads per burst")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=int, default=15, help="studies one at a time, each")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write", type=Path, metavar="MARKDOWN")
    args = parser.parse_args(argv)
    args.argv_for_doc = list(sys.argv[1:] if argv is None else argv)
    section, raw = run(args)
    print(section)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1))
    if args.write:
        from bench.report import write_section

        write_section(args.write, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
