"""Checkpoints load strictly into CheXNet; the weights' hashes and their verified download."""

import hashlib
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision.models import densenet121

from inference.model.checkpoint import CheckpointError, load_state_dict
from inference.model.network import build_network
from inference.model.provenance import checkpoint_provenance
from inference.model.weights import (
    PUBLISHED_GIT_BLOB_ID,
    WeightsMismatch,
    fetch_published_weights,
    git_blob_id,
    main,
)

STANDIN_SHA256 = "25e14114670aa996cd674c7f12351dc8dab87f7b166371856c58e93155a4fa43"
STANDIN_GIT_BLOB_ID = "9ec7e277057508782b7bc28de9be3d4269d33f61"  # `git hash-object` of it
RENAMED = "features.denseblock1.denselayer1.norm1.weight"
PUBLISHED_NAME = "module.densenet121.features.denseblock1.denselayer1.norm.1.weight"


@pytest.fixture(scope="module")
def published_layout(standin_checkpoint: Path) -> dict:
    """The stand-in file's raw content: the published layout and key names."""
    return torch.load(standin_checkpoint, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def standin_state_dict(standin_checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_state_dict(standin_checkpoint)


def test_the_published_layout_loads_all_606_tensors(
    published_layout: dict, standin_state_dict: dict[str, torch.Tensor]
) -> None:
    assert len(published_layout["state_dict"]) == 606
    assert len(standin_state_dict) == 606
    assert torch.equal(standin_state_dict[RENAMED], published_layout["state_dict"][PUBLISHED_NAME])
    assert not [key for key in standin_state_dict if key.startswith(("module.", "densenet121."))]
    assert "classifier.0.weight" in standin_state_dict


def test_a_checkpoint_missing_tensors_is_refused_and_they_are_named(
    published_layout: dict, tmp_path: Path
) -> None:
    tensors = dict(published_layout["state_dict"])
    dropped = [key for key in tensors if ".denselayer2." in key][:7]
    for key in dropped:
        del tensors[key]
    path = tmp_path / "incomplete.pth.tar"
    torch.save({"state_dict": tensors}, path)

    with pytest.raises(CheckpointError) as refused:
        load_state_dict(path)

    message = str(refused.value)
    assert "7 tensors missing" in message and "(2 more)" in message
    assert "features.denseblock1.denselayer2.norm1.weight" in message


def test_a_checkpoint_with_an_extra_tensor_is_refused_and_it_is_named(
    published_layout: dict, tmp_path: Path
) -> None:
    tensors = dict(published_layout["state_dict"])
    tensors["module.densenet121.extra_head.weight"] = torch.zeros(3)
    path = tmp_path / "extra.pth.tar"
    torch.save({"state_dict": tensors}, path)

    with pytest.raises(CheckpointError, match=r"1 tensor unexpected: extra_head\.weight"):
        load_state_dict(path)


def test_a_tensor_of_the_wrong_shape_is_refused(published_layout: dict, tmp_path: Path) -> None:
    tensors = dict(published_layout["state_dict"])
    tensors["module.densenet121.classifier.0.weight"] = torch.zeros(15, 1024)
    path = tmp_path / "fifteen.pth.tar"
    torch.save({"state_dict": tensors}, path)

    with pytest.raises(CheckpointError, match=r"wrong shape: classifier\.0\.weight \(15, 1024\)"):
        load_state_dict(path)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.pth.tar"
    path.write_bytes(b"these are not the weights you are looking for")

    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        load_state_dict(path)


@pytest.mark.parametrize("data_parallel", [False, True], ids=["plain", "module-prefix"])
def test_a_torchvision_state_dict_loads_and_gives_identical_outputs(
    standin_state_dict: dict[str, torch.Tensor], tmp_path: Path, data_parallel: bool
) -> None:
    torchvision_model = densenet121(weights=None)
    torchvision_model.classifier = nn.Sequential(nn.Linear(1024, 14), nn.Sigmoid())
    torchvision_model.load_state_dict(standin_state_dict)
    saved = nn.DataParallel(torchvision_model) if data_parallel else torchvision_model
    assert any(key.endswith("num_batches_tracked") for key in saved.state_dict())
    path = tmp_path / "torchvision.pth"
    torch.save(saved.state_dict(), path)

    loaded = load_state_dict(path)

    assert loaded.keys() == standin_state_dict.keys()
    assert all(torch.equal(loaded[key], standin_state_dict[key]) for key in loaded)
    images = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        probs, _ = build_network(loaded)(images)
        expected = torchvision_model.eval()(images)
    assert torch.equal(probs, expected)


def test_the_stand_in_hashes_and_is_not_the_published_checkpoint(
    standin_checkpoint: Path,
) -> None:
    provenance = checkpoint_provenance(standin_checkpoint)
    assert provenance.sha256 == STANDIN_SHA256
    assert git_blob_id(standin_checkpoint) == STANDIN_GIT_BLOB_ID
    assert not provenance.verified


def test_the_git_blob_id_is_what_git_hash_object_prints(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")

    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert checkpoint_provenance(path, accept_unverified=True).sha256 == hashlib.sha256(
        b"hello\n").hexdigest()


def test_a_download_that_is_not_the_published_file_is_refused_and_deleted(tmp_path: Path) -> None:
    impostor = tmp_path / "impostor.pth.tar"
    impostor.write_bytes(b"not the CheXNet weights")
    dest = tmp_path / "models" / "model.pth.tar"

    with pytest.raises(WeightsMismatch, match=f"expected {PUBLISHED_GIT_BLOB_ID}"):
        fetch_published_weights(dest, impostor.as_uri())

    assert list(dest.parent.iterdir()) == []


def test_a_download_with_the_expected_blob_id_is_moved_into_place(tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    source.write_bytes(b"pretend weights" * 1000)
    dest = tmp_path / "models" / "model.pth.tar"

    fetched = fetch_published_weights(
        dest, source.as_uri(), expected_git_blob_id=git_blob_id(source)
    )

    assert fetched == dest
    assert dest.read_bytes() == source.read_bytes()
    assert [path.name for path in dest.parent.iterdir()] == ["model.pth.tar"]


def test_the_fetch_command_fails_on_a_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impostor = tmp_path / "impostor.pth.tar"
    impostor.write_bytes(b"not the CheXNet weights")

    assert main(["fetch", str(tmp_path / "model.pth.tar"), "--url", impostor.as_uri()]) == 1
    assert "is not the published CheXNet checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "model.pth.tar").exists()
