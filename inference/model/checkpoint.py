"""Read a CheXNet checkpoint into a state dict with today's torchvision names, strictly.

Accepted layouts:
- the published arnoweng/CheXNet `model.pth.tar`: {"state_dict": {...}} with keys like
  `module.densenet121.features.denseblock1.denselayer1.norm.1.weight` (old dense-layer names);
- a plain torchvision `densenet121` state dict with classifier Sequential(Linear, Sigmoid),
  keys `features.*` and `classifier.0.*`, with or without a DataParallel `module.` prefix.

Every one of CheXNet's 606 tensors must be present with its shape and nothing else may be: loading
with strict=False silently leaves layers untrained (arnoweng/CheXNet issues 34, 41, 47, 48).
`num_batches_tracked` counters are dropped; they play no part in evaluation.
"""

import re
from pathlib import Path

import torch
from torch import Tensor

from inference.model.network import CheXNet

_PREFIXES = ("module.", "densenet121.")
_OLD_DENSE_LAYER_NAME = re.compile(r"\.(norm|relu|conv)\.([12])\.")
_SHOWN = 5


class CheckpointError(ValueError):
    """The file is not a CheXNet checkpoint we can load without guessing."""


def load_state_dict(path: str | Path) -> dict[str, Tensor]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # unpickling refusals, corrupt archives, not a torch file at all
        raise CheckpointError(f"{path}: not a readable torch checkpoint: {error}") from error
    raw = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(raw, dict) or not all(isinstance(v, Tensor) for v in raw.values()):
        raise CheckpointError(f"{path}: holds no state dict of tensors")
    kept = {key: tensor for key, tensor in raw.items() if not key.endswith(".num_batches_tracked")}
    state_dict = {_torchvision_name(key): tensor for key, tensor in kept.items()}
    if len(state_dict) != len(kept):
        raise CheckpointError(f"{path}: several tensors map to the same torchvision name")
    _check_matches_network(path, state_dict)
    return state_dict


def _torchvision_name(key: str) -> str:
    for prefix in _PREFIXES:
        key = key.removeprefix(prefix)
    return _OLD_DENSE_LAYER_NAME.sub(r".\1\2.", key)


def _expected_shapes() -> dict[str, torch.Size]:
    with torch.device("meta"):
        network = CheXNet()
    return {
        key: tensor.shape
        for key, tensor in network.state_dict().items()
        if not key.endswith(".num_batches_tracked")
    }


def _check_matches_network(path: str | Path, state_dict: dict[str, Tensor]) -> None:
    expected = _expected_shapes()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong_shapes = [
        f"{key} {tuple(state_dict[key].shape)} instead of {tuple(shape)}"
        for key, shape in expected.items()
        if key in state_dict and state_dict[key].shape != shape
    ]
    problems = [
        _listing("missing", missing),
        _listing("unexpected", unexpected),
        _listing("with the wrong shape", wrong_shapes),
    ]
    problems = [problem for problem in problems if problem]
    if problems:
        raise CheckpointError(
            f"{path} does not match CheXNet DenseNet-121 ({len(expected)} tensors): "
            + "; ".join(problems)
        )


def _listing(what: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:_SHOWN])
    more = f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return f"{len(names)} tensor{'s' if len(names) != 1 else ''} {what}: {shown}{more}"
