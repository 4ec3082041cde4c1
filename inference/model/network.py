"""CheXNet: torchvision DenseNet-121 with a 14-way sigmoid classifier, and class activation maps."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import densenet121

from inference.findings import FINDINGS

FEATURE_CHANNELS = 1024


class CheXNet(nn.Module):
    """State-dict names are torchvision's `densenet121` ones: `features.*`, `classifier.0.*`."""

    def __init__(self) -> None:
        super().__init__()
        self.features = densenet121(weights=None).features
        self.classifier = nn.Sequential(nn.Linear(FEATURE_CHANNELS, len(FINDINGS)), nn.Sigmoid())

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """images [N,3,224,224] -> (probs [N,14], cams [N,14,7,7]).

        A finding's class activation map is the last feature map after ReLU weighted by that
        finding's classifier weights, without the bias: mean(cam) + bias is the finding's logit.
        """
        feature_map = F.relu(self.features(images))
        pooled = torch.flatten(F.adaptive_avg_pool2d(feature_map, (1, 1)), 1)
        probs = self.classifier(pooled)
        linear = self.classifier[0]
        cams = F.conv2d(feature_map, linear.weight[:, :, None, None])
        return probs, cams


def build_network(state_dict: dict[str, Tensor]) -> CheXNet:
    network = CheXNet()
    network.load_state_dict(state_dict, strict=True)
    return network.eval()
