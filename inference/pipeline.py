"""One chest X-ray through the model: preprocess -> GraphPipe server -> postprocess.

The Celery worker and `manage.py diagnose` both call `diagnose_image`, so they run the same path.
"""

import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.graphpipe.client import BadResponse, GraphPipeClient
from inference.findings import FINDINGS
from inference.identity import ModelIdentity, model_identity
from inference.imaging.preprocessing import preprocess

CENTER_ROW_OF_TENCROP = 4  # torchvision TenCrop order: tl, tr, bl, br, centre, then mirrored


@dataclass(frozen=True)
class Diagnosis:
    probabilities: dict[str, float]
    heatmaps: np.ndarray  # [14, 7, 7] class activation maps of the centre crop
    preprocessing: str  # "center" or "tencrop"
    preprocessing_ms: float
    inference_ms: float
    model: ModelIdentity


def diagnose_image(image: Image.Image, client: GraphPipeClient, *, tencrop: bool) -> Diagnosis:
    started = time.perf_counter()
    batch = preprocess(image, tencrop=tencrop)
    preprocessed = time.perf_counter()
    (probs, cams), metadata = client.infer_by_model(batch, output_names=["probs", "cams"])
    inferred = time.perf_counter()
    model = model_identity(metadata)
    rows = batch.shape[0]
    _check_shape("probs", probs, (rows, len(FINDINGS)))
    _check_shape("cams", cams, (rows, len(FINDINGS), 7, 7))
    mean_probs = probs.astype(np.float64).mean(axis=0)  # TenCrop: mean of the crops' probabilities
    return Diagnosis(
        probabilities={name: float(p) for name, p in zip(FINDINGS, mean_probs)},
        heatmaps=cams[CENTER_ROW_OF_TENCROP if tencrop else 0],
        preprocessing="tencrop" if tencrop else "center",
        preprocessing_ms=(preprocessed - started) * 1000,
        inference_ms=(inferred - preprocessed) * 1000,
        model=model,
    )


def _check_shape(name: str, array: np.ndarray, expected: tuple[int, ...]) -> None:
    if tuple(array.shape) != expected:
        raise BadResponse(
            f"model server returned {name} of shape {list(array.shape)}, expected {list(expected)}"
        )
    if not np.all(np.isfinite(array)):
        raise BadResponse(f"model server returned non-finite values in {name}")
