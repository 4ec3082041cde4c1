"""What comes back through the GraphPipe server equals PyTorch on the same checkpoint:
probabilities and class activation maps, for every sample, centre crop and TenCrop."""

import numpy as np
import pytest
import torch
from PIL import Image

from inference.model.checkpoint import load_state_dict
from inference.graphpipe.client import GraphPipeClient
from inference.findings import FINDINGS
from inference.model.network import build_network
from inference.pipeline import CENTER_ROW_OF_TENCROP, diagnose_image
from inference.imaging.raster import open_image
from tests.torchvision_reference import TORCHVISION_CENTER, TORCHVISION_TENCROP

PROBABILITY_TOLERANCE = 1e-4
CAM_TOLERANCE = 1e-4  # relative to the map's largest magnitude (CAMs are logit-sized, not 0..1)


@pytest.fixture(scope="module")
def network(standin_checkpoint):
    return build_network(load_state_dict(standin_checkpoint))


@pytest.fixture(scope="module")
def client(graphpipe_url):
    with GraphPipeClient(graphpipe_url) as client:
        yield client


@pytest.fixture(scope="module")
def outcomes(network, client, sample_pngs):
    """outcomes(tencrop) -> [(path, served Diagnosis, PyTorch's probabilities, PyTorch's centre-crop
    CAMs)] for every sample, computed once for the tests that share them."""
    computed = {}

    def outcome(tencrop: bool) -> list:
        if tencrop not in computed:
            computed[tencrop] = [
                (path, diagnose_image(open_image(path.read_bytes()), client, tencrop=tencrop),
                 *pytorch_outputs(network, path, tencrop=tencrop))
                for path in sample_pngs
            ]
        return computed[tencrop]

    return outcome


def pytorch_outputs(network, path, *, tencrop: bool) -> tuple[np.ndarray, np.ndarray]:
    """The reference: torchvision preprocessing and the PyTorch network, as CheXNet evaluated.
    The mean of the crops' probabilities [14], and the CAMs [14,7,7] of the centre crop: row 4 of
    torchvision's TenCrop (tl, tr, bl, br, centre, then mirrored), or the one CenterCrop."""
    image = Image.open(path).convert("RGB")
    batch = TORCHVISION_TENCROP(image) if tencrop else TORCHVISION_CENTER(image).unsqueeze(0)
    with torch.no_grad():
        probs, cams = network(batch)
    centre = CENTER_ROW_OF_TENCROP if tencrop else 0
    return probs.double().mean(dim=0).numpy(), cams[centre].numpy()


@pytest.mark.parametrize("tencrop", [False, True], ids=["center", "tencrop"])
def test_graphpipe_probabilities_match_pytorch_on_every_sample(outcomes, tencrop):
    for path, diagnosis, probabilities, _ in outcomes(tencrop):
        served = np.array([diagnosis.probabilities[name] for name in FINDINGS])
        assert np.abs(served - probabilities).max() <= PROBABILITY_TOLERANCE, path.name


@pytest.mark.parametrize("tencrop", [False, True], ids=["center", "tencrop"])
def test_graphpipe_heatmaps_match_pytorch_cams_of_the_centre_crop_on_every_sample(outcomes,
                                                                                  tencrop):
    for path, diagnosis, _, cams in outcomes(tencrop):
        assert diagnosis.heatmaps.shape == cams.shape == (len(FINDINGS), 7, 7)
        tolerance = CAM_TOLERANCE * max(1.0, float(np.abs(cams).max()))
        assert np.abs(diagnosis.heatmaps - cams).max() <= tolerance, path.name


def test_the_heatmap_row_of_tencrop_is_torchvisions_centre_crop(sample_pngs):
    image = Image.open(sample_pngs[0]).convert("RGB")

    assert torch.equal(TORCHVISION_TENCROP(image)[CENTER_ROW_OF_TENCROP], TORCHVISION_CENTER(image))
