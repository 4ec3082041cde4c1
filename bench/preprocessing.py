"""Benchmark (not a test): our Pillow + NumPy preprocessing against torchvision's, per image.

    .venv/bin/python -m bench.preprocessing [--repeats 15] [--write docs/benchmarks.md]

Both start from the same decoded image ("decode excluded") or from the file's bytes ("decode
included"). torchvision runs what arnoweng/CheXNet trained with: convert("RGB"), Resize(256),
CenterCrop(224) or TenCrop(224), ToTensor, Normalize. Ours gives the same values; it keeps a
greyscale image in 'L' through the resize and normalises only the crops. The figure is the median
over the repeats (ours and torchvision's taken in turn), after one warm-up run; the summary gives
the median and the lowest ratio. Also times `read_dicom` on DICOM files. --write replaces (or
appends) the section under HEADING in the given markdown file.
"""

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import torch
from PIL import Image
from pydicom.data import get_testdata_file

from bench.report import write_section
from inference.imaging.dicom import read_dicom
from inference.imaging.preprocessing import center_crop, ten_crop
from inference.imaging.raster import open_image
from tests.torchvision_reference import TORCHVISION_CENTER, TORCHVISION_TENCROP

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"
HEADING = "## Preprocessing: Pillow + NumPy vs torchvision"
PACKAGES = ("pillow", "numpy", "torch", "torchvision", "pydicom", "pylibjpeg-libjpeg",
            "pylibjpeg-openjpeg")


def median_ms(run: Callable[[], object], repeats: int) -> float:
    return medians_ms([run], repeats)[0]


def medians_ms(runs: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median milliseconds of each of RUNS, taken in turn, so that other work on a shared machine
    slows them alike rather than whichever ran during it."""
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, times):
            started = time.perf_counter()
            run()
            taken.append(time.perf_counter() - started)
    return [statistics.median(taken) * 1000 for taken in times]


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def torchvision_center(image: Image.Image) -> torch.Tensor:
    return TORCHVISION_CENTER(image.convert("RGB")).unsqueeze(0)


def torchvision_tencrop(image: Image.Image) -> torch.Tensor:
    return TORCHVISION_TENCROP(image.convert("RGB"))


def image_tables(
    paths: list[Path], repeats: int
) -> tuple[list[str], list[str], dict[str, list[float]]]:
    """Markdown rows (decode excluded, decode included) and torchvision/ours ratios by column."""
    excluded, included = [], []
    ratios: dict[str, list[float]] = {}
    for path in paths:
        data = path.read_bytes()
        image = decoded(data)
        name = f"{path.name} ({image.width}x{image.height} {image.mode})"
        without, with_decode = [name], [name]
        for crops, ours, theirs in (
            ("centre", center_crop, torchvision_center),
            ("TenCrop", ten_crop, torchvision_tencrop),
        ):
            timings = {
                f"{crops}, decode excluded": medians_ms(
                    [lambda: ours(image), lambda: theirs(image)], repeats
                ),
                f"{crops}, decode included": medians_ms(
                    [lambda: ours(open_image(data)), lambda: theirs(decoded(data))], repeats
                ),
            }
            for column, (ours_ms, theirs_ms) in timings.items():
                ratios.setdefault(column, []).append(theirs_ms / ours_ms)
            without += _cells(*timings[f"{crops}, decode excluded"])
            with_decode += _cells(*timings[f"{crops}, decode included"])
        excluded.append("| " + " | ".join(without) + " |")
        included.append("| " + " | ".join(with_decode) + " |")
        print(excluded[-1], included[-1], sep="\n", file=sys.stderr)
    return excluded, included, ratios


def _cells(ours_ms: float, theirs_ms: float) -> list[str]:
    return [f"{ours_ms:.1f}", f"{theirs_ms:.1f}", f"{theirs_ms / ours_ms:.2f}"]


def dicom_rows(paths: list[Path], repeats: int) -> list[str]:
    rows = []
    for path in paths:
        data = path.read_bytes()
        study = read_dicom(data)
        size = f"{study.image.width}x{study.image.height}"
        described = f"{study.photometric_interpretation}, {study.bits_stored}-bit"
        milliseconds = median_ms(lambda: read_dicom(data), repeats)
        rows.append(f"| {path.name} | {size} | {described} | {milliseconds:.1f} |")
        print(rows[-1], file=sys.stderr)
    return rows


def machine() -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = _cpu_flags()
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return [
        f"- Machine: {os.cpu_count()} CPUs (`nproc`), {cpu}; AVX2 "
        f"{'yes' if 'avx2' in flags else 'no'}, AVX-512 {'yes' if 'avx512f' in flags else 'no'}; "
        f"load average at the start {os.getloadavg()[0]:.2f}.",
        f"- Python {platform.python_version()}; {versions}; "
        f"torch intra-op threads {torch.get_num_threads()}.",
    ]


def _cpu_flags() -> set[str]:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def report(repeats: int) -> str:
    pngs = sorted(SAMPLES.glob("*.png"))
    dicoms = sorted(SAMPLES.glob("siim_*.dcm"))
    dicoms += [Path(p) for p in [get_testdata_file("RG1_UNCR.dcm", download=False)] if p]
    described = machine()
    excluded, included, ratios = image_tables(pngs, repeats)
    summary = "; ".join(
        f"{column} {statistics.median(values):.2f} (lowest {min(values):.2f})"
        for column, values in ratios.items()
    )
    dicom_table = dicom_rows(dicoms, repeats)
    lines = [
        HEADING,
        "",
        f"Command: `.venv/bin/python -m bench.preprocessing --repeats {repeats} "
        f"--torch-threads {torch.get_num_threads()} --write docs/benchmarks.md`",
        "",
        *described,
        f"- Load average at the end {os.getloadavg()[0]:.2f} (the machine is shared: a load "
        "above the CPU count means other work ran beside the benchmark).",
        "",
        f"Per image, milliseconds, median of {repeats} runs after a warm-up, ours and "
        "torchvision's taken in turn. \"ours\" is "
        "`inference.imaging.preprocessing` (Pillow resize + NumPy); ratio = torchvision / ours (above 1: "
        "ours is faster). Both give the same float32 values, bit for bit "
        "(tests/inference/test_preprocessing.py). torchvision converts to RGB first, as training "
        "did; ours keeps greyscale in 'L' until after the resize (one channel resized instead of "
        "three) and normalises only the crops. With the decode: `open_image(bytes)` for ours, "
        "`Image.open(...)` then `convert(\"RGB\")` for torchvision.",
        "",
        f"Median ratio over the {len(pngs)} images, and the lowest: {summary}.",
        "",
        "Decode excluded (both start from the decoded PIL image):",
        "",
        *_table_head(),
        *excluded,
        "",
        "Decode included (both start from the PNG file's bytes):",
        "",
        *_table_head(),
        *included,
        "",
        "DICOM: `read_dicom` from bytes (parse, decode, modality and VOI LUT, 8-bit), "
        f"median of {repeats} runs.",
        "",
        "| file | size | pixels | read_dicom ms |",
        "|---|---|---|---|",
        *dicom_table,
    ]
    return "\n".join(lines) + "\n"


def _table_head() -> list[str]:
    return [
        "| image | ours centre | torchvision centre | ratio "
        "| ours TenCrop | torchvision TenCrop | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.preprocessing", description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--write", type=Path, metavar="MARKDOWN")
    parser.add_argument(
        "--torch-threads", type=int, default=1,
        help="torch intra-op threads (default 1: ours is single-threaded, and idle torch threads "
        "spin on a shared machine)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)
    section = report(args.repeats)
    print(section)
    if args.write:
        write_section(args.write, HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
