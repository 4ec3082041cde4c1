"""The exported ONNX file: one self-contained file, its interface, its metadata, its numbers."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
import torch.nn.functional as F

from inference.model import export
from inference.model.checkpoint import load_state_dict
from inference.model import provenance
from inference.model.export import ExportError, export_onnx, main
from inference.findings import FINDINGS
from inference.model.network import CheXNet, build_network
from inference.imaging.preprocessing import center_crop, ten_crop
from inference.imaging.raster import open_image
from inference.model.provenance import UnverifiedCheckpoint, checkpoint_provenance, local_checkpoint
from inference.model.weights import PUBLISHED_GIT_BLOB_ID, git_blob_id
from tests.shared import NEEDS_SAMPLES, SAMPLE_PNGS

STANDIN_SHA256 = "25e14114670aa996cd674c7f12351dc8dab87f7b166371856c58e93155a4fa43"


@dataclass(frozen=True)
class ExportedModel:
    path: Path
    metadata: dict[str, str]


@pytest.fixture(scope="session")
def exported(standin_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportedModel:
    output = tmp_path_factory.mktemp("export") / "chexnet.onnx"
    return ExportedModel(output, export_onnx(standin_checkpoint, output))


@pytest.fixture(scope="module")
def network(standin_checkpoint: Path) -> CheXNet:
    return build_network(load_state_dict(standin_checkpoint))


def ort_session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def session(exported: ExportedModel) -> onnxruntime.InferenceSession:
    return ort_session(exported.path)


def random_images(batch: int) -> np.ndarray:
    return np.random.default_rng(batch).standard_normal((batch, 3, 224, 224), dtype=np.float32)


def run_torch(network: CheXNet, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        probs, cams = network(torch.from_numpy(images))
    return probs.numpy(), cams.numpy()


def test_it_writes_one_self_contained_file(exported: ExportedModel) -> None:
    assert [path.name for path in exported.path.parent.iterdir()] == ["chexnet.onnx"]
    model = onnx.load(exported.path, load_external_data=False)
    assert not any(
        onnx.external_data_helper.uses_external_data(tensor) for tensor in model.graph.initializer
    )
    assert model.opset_import[0].version == 18
    onnx.checker.check_model(str(exported.path))


def test_it_takes_images_and_returns_probs_and_cams_for_any_batch(
    exported: ExportedModel,
) -> None:
    model = onnx.load(exported.path, load_external_data=False)

    def shape(value: onnx.ValueInfoProto) -> list[str | int]:
        return [dim.dim_param or dim.dim_value for dim in value.type.tensor_type.shape.dim]

    (images,) = model.graph.input
    probs, cams = model.graph.output
    assert (images.name, probs.name, cams.name) == ("images", "probs", "cams")
    assert images.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    batch = shape(images)[0]
    assert isinstance(batch, str) and batch
    assert shape(images) == [batch, 3, 224, 224]
    assert shape(probs) == [batch, 14]
    assert shape(cams) == [batch, 14, 7, 7]


def test_its_metadata_says_where_the_weights_came_from(exported: ExportedModel) -> None:
    model = onnx.load(exported.path, load_external_data=False)
    props = {prop.key: prop.value for prop in model.metadata_props}

    assert props == exported.metadata
    assert props["model_name"] == "CheXNet DenseNet-121 (stand-in, random weights)"
    assert props["checkpoint_sha256"] == STANDIN_SHA256
    assert props["checkpoint_git_blob_id"] == "9ec7e277057508782b7bc28de9be3d4269d33f61"
    assert props["weights_verified"] == "false"
    assert json.loads(props["findings"]) == list(FINDINGS)
    assert props["preprocessing"] == "resize256-crop224-imagenet-norm"


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runtime_agrees_with_pytorch_for_batch(
    session: onnxruntime.InferenceSession, network: CheXNet, batch: int
) -> None:
    images = random_images(batch)

    probs, cams = session.run(["probs", "cams"], {"images": images})
    expected_probs, expected_cams = run_torch(network, images)

    assert probs.shape == (batch, 14) and cams.shape == (batch, 14, 7, 7)
    assert np.abs(probs - expected_probs).max() <= 1e-4
    assert np.abs(cams - expected_cams).max() <= 1e-4 * max(1.0, np.abs(expected_cams).max())


@NEEDS_SAMPLES
def test_onnx_runtime_agrees_with_pytorch_on_the_ten_crops_of_a_real_x_ray(
    session: onnxruntime.InferenceSession, network: CheXNet
) -> None:
    crops = ten_crop(open_image(SAMPLE_PNGS[0]))

    probs, cams = session.run(["probs", "cams"], {"images": crops})
    expected_probs, expected_cams = run_torch(network, crops)

    assert np.abs(probs - expected_probs).max() <= 1e-5
    assert np.allclose(cams, expected_cams, rtol=1e-4, atol=1e-4)


@NEEDS_SAMPLES
def test_the_mean_of_a_cam_plus_the_bias_is_the_logit(
    session: onnxruntime.InferenceSession, network: CheXNet
) -> None:
    crop = center_crop(open_image(SAMPLE_PNGS[-1]))

    probs, cams = session.run(["probs", "cams"], {"images": crop})

    linear = network.classifier[0]
    with torch.no_grad():
        pooled = F.adaptive_avg_pool2d(F.relu(network.features(torch.from_numpy(crop))), 1)
        logits = linear(pooled.flatten(1)).numpy()
    from_cams = cams.mean(axis=(2, 3)) + linear.bias.detach().numpy()
    assert np.allclose(from_cams, logits, atol=1e-4)
    assert np.abs(1 / (1 + np.exp(-from_cams)) - probs).max() <= 1e-5


def test_the_legacy_exporter_is_the_fallback(
    standin_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dynamo_fails(*args: object) -> None:
        raise RuntimeError("dynamo exporter broken")

    monkeypatch.setattr(export, "_export_with_dynamo", dynamo_fails)
    output = tmp_path / "legacy.onnx"

    export_onnx(standin_checkpoint, output)

    probs, cams = ort_session(output).run(["probs", "cams"], {"images": random_images(3)})
    assert probs.shape == (3, 14) and cams.shape == (3, 14, 7, 7)


def test_nothing_is_written_when_onnx_runtime_disagrees(
    standin_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "_export_with_dynamo", export._export_with_legacy_exporter)
    monkeypatch.setattr(export, "PROBS_TOLERANCE", -1.0)

    with pytest.raises(ExportError, match="disagrees with PyTorch"):
        export_onnx(standin_checkpoint, tmp_path / "chexnet.onnx")

    assert list(tmp_path.iterdir()) == []


def test_the_command_refuses_a_file_that_is_not_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "notes.txt"
    checkpoint.write_text("not a checkpoint")

    arguments = ["--checkpoint", str(checkpoint), "--output", str(tmp_path / "x.onnx")]
    assert main([*arguments, "--accept-unverified"]) == 1
    assert "not a readable torch checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def unknown_checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "someone-elses.pth.tar"
    path.write_bytes(b"weights of unknown origin")
    return path


def test_the_command_refuses_an_unverified_checkpoint_before_loading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_load(path: object) -> None:
        raise AssertionError("an unverified checkpoint was loaded")

    monkeypatch.setattr(export, "load_state_dict", must_not_load)
    checkpoint = unknown_checkpoint(tmp_path)

    assert main(["--checkpoint", str(checkpoint), "--output", str(tmp_path / "x.onnx")]) == 2
    error = capsys.readouterr().err
    assert f"git blob id {git_blob_id(checkpoint)}, expected {PUBLISHED_GIT_BLOB_ID}" in error
    assert "--accept-unverified" in error
    assert not (tmp_path / "x.onnx").exists()


def test_the_published_checkpoint_is_verified_and_the_stand_in_is_known(
    standin_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin = checkpoint_provenance(standin_checkpoint)
    assert (standin.verified, standin.model_name) == (
        False, "CheXNet DenseNet-121 (stand-in, random weights)"
    )
    checkpoint = unknown_checkpoint(tmp_path)
    unverified = checkpoint_provenance(checkpoint, accept_unverified=True)
    assert (unverified.verified, unverified.git_blob_id) == (False, git_blob_id(checkpoint))
    assert "unverified" in unverified.model_name
    monkeypatch.setattr(provenance, "PUBLISHED_GIT_BLOB_ID", git_blob_id(checkpoint))
    published = checkpoint_provenance(checkpoint)
    assert (published.verified, published.model_name) == (True, "CheXNet DenseNet-121")


def test_a_checkpoint_url_is_downloaded_once_into_the_download_dir(
    standin_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = standin_checkpoint.resolve().as_uri()

    downloaded = local_checkpoint(url, tmp_path / "models")

    assert downloaded == tmp_path / "models" / standin_checkpoint.name
    assert checkpoint_provenance(downloaded).sha256 == STANDIN_SHA256
    assert list((tmp_path / "models").iterdir()) == [downloaded]
    monkeypatch.setattr(provenance.urllib.request, "urlopen", None)  # a second fetch would fail
    assert local_checkpoint(url, tmp_path / "models") == downloaded


def test_an_unverified_download_is_refused_and_deleted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = unknown_checkpoint(tmp_path).as_uri()
    download_dir = tmp_path / "models"
    arguments = ["--checkpoint", url, "--output", str(tmp_path / "x.onnx"),
                 "--download-dir", str(download_dir)]

    assert main(arguments) == 2

    error = capsys.readouterr().err
    assert "not the published CheXNet checkpoint" in error and "download was deleted" in error
    assert list(download_dir.iterdir()) == []
    assert not (tmp_path / "x.onnx").exists()
    kept = local_checkpoint(url, download_dir, accept_unverified=True)
    assert kept.read_bytes() == b"weights of unknown origin"
    with pytest.raises(UnverifiedCheckpoint):
        export_onnx(kept, tmp_path / "x.onnx")


def test_the_command_exports_the_stand_in_from_a_url_and_says_so(
    standin_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "standin.onnx"
    arguments = ["--checkpoint", standin_checkpoint.resolve().as_uri(), "--output", str(output),
                 "--download-dir", str(tmp_path / "models")]

    assert main(arguments) == 0

    props = {p.key: p.value for p in onnx.load(output, load_external_data=False).metadata_props}
    assert props["model_name"] == "CheXNet DenseNet-121 (stand-in, random weights)"
    assert props["weights_verified"] == "false"
    assert props["checkpoint_sha256"] == STANDIN_SHA256
    assert "stand-in, random weights" in capsys.readouterr().out
