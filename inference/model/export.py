"""Checkpoint -> one self-contained ONNX file that returns `probs` [N,14] and `cams` [N,14,7,7].

    python -m inference.model.export --checkpoint model.pth.tar --output models/chexnet.onnx
    python -m inference.model.export --checkpoint https://.../model.pth.tar --output models/chexnet.onnx

Only two checkpoints are exported without asking: the published CheXNet file (verified by its git
blob id) and the project's known stand-in (by its sha256, marked as such). Any other checkpoint is
refused unless --accept-unverified is given. A URL (http, https, file) is downloaded into
--download-dir and refused, and deleted, on the same terms before it takes its final name.

The file carries its provenance in its metadata properties (checkpoint hashes, whether the weights
are the verified published ones, the findings' order, the preprocessing). Before it is written,
ONNX Runtime must reproduce PyTorch's probabilities on a random batch.

    python -m inference.model.export --checkpoint ... --output models/chexnet-int8.onnx \
        --precision int8 --images xray1.png xray2.png ...

`--precision int8` (ONNX Runtime static quantization, QDQ, calibrated on the TenCrop rows of the
given images) or `fp16` (for GPUs) writes the reduced model instead, with `precision` and
`agreement` (its report against fp32 on the same images, `inference.precision`) in its
metadata; the report is printed too. Registration refuses a reduced model whose report breaks
the tolerances of `inference.precision`.
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

from inference.model.checkpoint import CheckpointError, load_state_dict
from inference.precision import PRECISIONS, agreement_problems
from inference.findings import FINDINGS
from inference.model.network import CheXNet, build_network
from inference.imaging.preprocessing import CROP_SIZE, PREPROCESSING_NAME
from inference.model.provenance import (
    DOWNLOAD_DIR,
    UnverifiedCheckpoint,
    checkpoint_provenance,
    local_checkpoint,
)

OPSET = 18
INPUT_NAME = "images"
OUTPUT_NAMES = ("probs", "cams")
PROBS_TOLERANCE = 1e-4
CAMS_RELATIVE_TOLERANCE = 1e-4

log = logging.getLogger(__name__)


class ExportError(RuntimeError):
    """The exported model does not reproduce the PyTorch network."""


def export_onnx(
    checkpoint: Path, output: Path, *, accept_unverified: bool = False,
    precision: str = "fp32", images: list[Path] | None = None,
) -> dict[str, str]:
    """Export CHECKPOINT to OUTPUT (atomically) and return the metadata written into it.

    An unknown checkpoint is refused before anything is loaded unless ACCEPT_UNVERIFIED. With a
    reduced PRECISION, the model written is the quantized one, calibrated and compared on IMAGES.
    """
    if precision not in PRECISIONS:
        raise ExportError(f"unknown precision {precision!r}")
    if precision != "fp32" and not images:
        raise ExportError(f"--precision {precision} needs --images to calibrate and compare on")
    provenance = checkpoint_provenance(checkpoint, accept_unverified=accept_unverified)
    network = build_network(load_state_dict(checkpoint))
    metadata = {
        "model_name": provenance.model_name,
        "checkpoint_sha256": provenance.sha256,
        "checkpoint_git_blob_id": provenance.git_blob_id,
        "weights_verified": "true" if provenance.verified else "false",
        "findings": json.dumps(list(FINDINGS)),
        "preprocessing": PREPROCESSING_NAME,
    }
    model = _exported_model(network)
    _add_metadata(model, metadata)
    serialized = model.SerializeToString()
    _check_against_torch(network, serialized)
    if precision != "fp32":
        from inference.model import precision as reduced

        rows = reduced.image_rows(list(images))
        model = onnx.load_from_string(reduced.reduced_model(serialized, precision, rows))
        report = reduced.agreement(serialized, model.SerializeToString(), precision, rows,
                                   len(images))
        metadata |= {"precision": precision, "agreement": json.dumps(report, sort_keys=True)}
        _add_metadata(model, metadata)
        serialized = model.SerializeToString()
    _write_atomically(output, serialized)
    return metadata


def _add_metadata(model: onnx.ModelProto, metadata: dict[str, str]) -> None:
    existing = {prop.key: prop.value for prop in model.metadata_props}
    onnx.helper.set_model_props(model, existing | metadata)


def _example_images(batch: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, CROP_SIZE, CROP_SIZE, generator=generator)


def _exported_model(network: CheXNet) -> onnx.ModelProto:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "chexnet.onnx"
        try:
            _export_with_dynamo(network, path)
        except Exception as error:  # the dynamo exporter is young; the legacy one still works
            log.warning("dynamo ONNX exporter failed (%s); using the legacy exporter", error)
            _export_with_legacy_exporter(network, path)
        return onnx.load(path)


def _export_with_dynamo(network: CheXNet, path: Path) -> None:
    torch.onnx.export(
        network,
        (_example_images(2),),
        path,
        dynamo=True,
        opset_version=OPSET,
        input_names=[INPUT_NAME],
        output_names=list(OUTPUT_NAMES),
        dynamic_shapes={INPUT_NAME: {0: torch.export.Dim("batch")}},
        external_data=False,
        verbose=False,
    )


def _export_with_legacy_exporter(network: CheXNet, path: Path) -> None:
    torch.onnx.export(
        network,
        (_example_images(2),),
        path,
        dynamo=False,
        opset_version=OPSET,
        input_names=[INPUT_NAME],
        output_names=list(OUTPUT_NAMES),
        dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)},
    )


def _check_against_torch(network: CheXNet, serialized: bytes) -> None:
    images = _example_images(2, seed=1)
    with torch.no_grad():
        expected_probs, expected_cams = (t.numpy() for t in network(images))
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        serialized, options, providers=["CPUExecutionProvider"]
    )
    probs, cams = session.run(list(OUTPUT_NAMES), {INPUT_NAME: images.numpy()})
    probs_diff = float(np.abs(probs - expected_probs).max())
    cams_diff = float(np.abs(cams - expected_cams).max())
    cams_scale = max(1.0, float(np.abs(expected_cams).max()))
    log.info("ONNX Runtime vs PyTorch: max |diff| probs %.2g, cams %.2g", probs_diff, cams_diff)
    if probs_diff > PROBS_TOLERANCE or cams_diff > CAMS_RELATIVE_TOLERANCE * cams_scale:
        raise ExportError(
            f"exported model disagrees with PyTorch: max |diff| probs {probs_diff:.3g} "
            f"(tolerance {PROBS_TOLERANCE}), cams {cams_diff:.3g} "
            f"(tolerance {CAMS_RELATIVE_TOLERANCE * cams_scale:.3g}); nothing was written"
        )


def _write_atomically(output: Path, content: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, output)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inference.model.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="PATH_OR_URL",
        help="a checkpoint file, or an http(s):// or file:// URL to download into --download-dir",
    )
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--download-dir", type=Path, default=DOWNLOAD_DIR,
        help=f"where a --checkpoint URL is downloaded (default: {DOWNLOAD_DIR}/)",
    )
    parser.add_argument(
        "--accept-unverified",
        action="store_true",
        help="export a checkpoint that is neither the published CheXNet file nor the known "
        "stand-in, marked weights_verified=false (without it such a file is refused, exit 2)",
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32",
        help="fp32 (default); int8: static quantization (QDQ) calibrated on --images; fp16: "
        "half precision for GPUs. Both write an agreement report against fp32 on --images",
    )
    parser.add_argument("--images", type=Path, nargs="+", metavar="IMAGE",
                        help="chest X-ray images (PNG/JPEG) to calibrate and compare on")
    args = parser.parse_args(argv)
    if args.precision != "fp32" and not args.images:
        parser.error(f"--precision {args.precision} needs --images to calibrate and compare on")
    started = time.perf_counter()
    try:
        checkpoint = local_checkpoint(
            args.checkpoint, args.download_dir, accept_unverified=args.accept_unverified
        )
        metadata = export_onnx(checkpoint, args.output, accept_unverified=args.accept_unverified,
                               precision=args.precision, images=args.images)
    except UnverifiedCheckpoint as error:
        print(f"error: {args.checkpoint}: {error}", file=sys.stderr)
        return 2
    except (CheckpointError, ExportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB, "
        f"{time.perf_counter() - started:.1f}s): {metadata['model_name']}, "
        f"weights_verified={metadata['weights_verified']}, "
        f"checkpoint sha256 {metadata['checkpoint_sha256']}"
    )
    if "agreement" in metadata:
        report = json.loads(metadata["agreement"])
        print(f"{args.precision} vs fp32 on {report['images']} images ({report['rows']} rows): "
              f"max |probability difference| {report['max_probability_difference']:.4f}, mean "
              f"{report['mean_probability_difference']:.4f}; {report['flags_changed']} of "
              f"{report['flags_compared']} flags changed at {report['flag_threshold']}; CAM "
              f"correlation lowest {report['min_cam_correlation']:.3f}, mean "
              f"{report['mean_cam_correlation']:.3f}")
        problems = agreement_problems(args.precision, report)
        print("registration will accept it" if not problems else
              "registration will REFUSE it: " + "; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
