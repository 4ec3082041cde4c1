"""What comes back through the GraphPipe server equals PyTorch on the same checkpoint."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from inference.checkpoint import load_state_dict
from inference.client import GraphPipeClient
from inference.findings import FINDINGS
from inference.network import build_network
from inference.pipeline import diagnose_image
from inference.preprocessing import open_image

NORMALIZE = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CENTER = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                             transforms.ToTensor(), NORMALIZE])
TENCROP = transforms.Compose([
    transforms.Resize(256), transforms.TenCrop(224),
    transforms.Lambda(lambda crops: torch.stack([NORMALIZE(transforms.ToTensor()(c))
                                                 for c in crops])),
])


@pytest.fixture(scope="module")
def network(standin_checkpoint):
    return build_network(load_state_dict(standin_checkpoint))


@pytest.fixture(scope="module")
def client(graphpipe_url):
    with GraphPipeClient(graphpipe_url) as client:
        yield client


def pytorch_probabilities(network, path, *, tencrop: bool) -> np.ndarray:
    """The reference: torchvision preprocessing and the PyTorch network, as CheXNet evaluated."""
    image = Image.open(path).convert("RGB")
    batch = TENCROP(image) if tencrop else CENTER(image).unsqueeze(0)
    with torch.no_grad():
        probs, _ = network(batch)
    return probs.double().mean(dim=0).numpy()


@pytest.mark.parametrize("tencrop", [False, True], ids=["center", "tencrop"])
def test_graphpipe_probabilities_match_pytorch_on_every_sample(network, client, sample_pngs,
                                                              tencrop):
    for path in sample_pngs:
        diagnosis = diagnose_image(open_image(path.read_bytes()), client, tencrop=tencrop)
        served = np.array([diagnosis.probabilities[name] for name in FINDINGS])
        expected = pytorch_probabilities(network, path, tencrop=tencrop)
        assert np.abs(served - expected).max() <= 1e-4, path.name
