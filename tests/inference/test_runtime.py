"""OnnxModel: ONNX Runtime settings, the model described in GraphPipe's terms, and running it."""

import hashlib
import json

import numpy as np
import pytest

from inference.graphpipe.generated.Type import Type
from inference.server.runtime import SERVER_NAME, SERVER_VERSION, OnnxModel
from inference.graphpipe.wire import IOMetadata
from tests.inference.conftest import METADATA, expected_outputs


def test_runtime_threads_sleep_instead_of_spinning(tiny_onnx):
    options = OnnxModel(tiny_onnx, intra_op_threads=2).session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.inter_op_num_threads == 1
    assert options.intra_op_num_threads == 2


def test_inputs_and_outputs_use_minus_one_for_the_batch(tiny_onnx):
    model = OnnxModel(tiny_onnx)
    assert model.inputs == [IOMetadata("images", "", [-1, 3, 224, 224], Type.Float32)]
    assert model.outputs == [IOMetadata("probs", "", [-1, 14], Type.Float32),
                             IOMetadata("cams", "", [-1, 14, 7, 7], Type.Float32)]


def test_metadata_names_the_model_and_describes_it_as_json(tiny_onnx):
    model = OnnxModel(tiny_onnx)
    sha256 = hashlib.sha256(tiny_onnx.read_bytes()).hexdigest()

    assert model.custom_metadata == METADATA
    assert model.sha256 == sha256
    assert model.metadata.name == "tiny chexnet"
    assert (model.metadata.server, model.metadata.version) == (SERVER_NAME, SERVER_VERSION)
    assert json.loads(model.metadata.description) == {**METADATA, "onnx_sha256": sha256}
    assert model.metadata.inputs == model.inputs


def test_a_model_without_a_name_is_named_after_its_file(fragile_onnx):
    model = OnnxModel(fragile_onnx)
    assert model.metadata.name == "fragile"
    assert json.loads(model.metadata.description) == {"onnx_sha256": model.sha256}


def test_run_returns_the_outputs_asked_for_in_that_order(tiny_onnx, image_batch):
    cams, probs = OnnxModel(tiny_onnx).run({"images": image_batch}, ["cams", "probs"])
    expected_probs, expected_cams = expected_outputs(image_batch)
    np.testing.assert_allclose(probs, expected_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cams, expected_cams, rtol=1e-5, atol=1e-5)


class RecordingSession:
    """The session's inputs, and the feeds' shapes of each run."""

    def __init__(self, session):
        self.session, self.runs = session, []

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, output_names, feeds):
        self.runs.append({name: (array.shape, array.dtype) for name, array in feeds.items()})
        return self.session.run(output_names, feeds)


def test_warm_up_runs_every_batch_size_up_to_the_largest_once(tiny_onnx):
    model = OnnxModel(tiny_onnx)
    model.session = RecordingSession(model.session)

    assert model.warm_up(4) == [1, 2, 3, 4]
    assert model.session.runs == [{"images": ((rows, 3, 224, 224), np.float32)}
                                  for rows in (1, 2, 3, 4)]


def test_the_cudnn_algorithm_search_is_checked(tiny_onnx):
    with pytest.raises(ValueError, match="conv_algo_search"):
        OnnxModel(tiny_onnx, conv_algo_search="fastest")
