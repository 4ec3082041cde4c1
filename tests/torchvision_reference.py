"""The reference our preprocessing must equal bit for bit: arnoweng/CheXNet's transforms in
torchvision (Resize(256), CenterCrop(224) or TenCrop(224), ToTensor, Normalize). Used by the tests
and by bench/preprocessing.py."""

import torch
from torchvision import transforms

NORMALIZE = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
TORCHVISION_CENTER = transforms.Compose(
    [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), NORMALIZE]
)
TORCHVISION_TENCROP = transforms.Compose(
    [
        transforms.Resize(256),
        transforms.TenCrop(224),
        transforms.Lambda(
            lambda crops: torch.stack([NORMALIZE(transforms.ToTensor()(crop)) for crop in crops])
        ),
    ]
)
