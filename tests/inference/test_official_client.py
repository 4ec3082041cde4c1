"""The official GraphPipe Python client (PyPI graphpipe 1.0.4) against our server.

It is installed with `pip install --no-deps graphpipe==1.0.4` (its own pins are broken; `make test`
does this). It speaks to the server with bare `requests.post` calls.
"""

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from tests.inference.conftest import expected_outputs

remote = pytest.importorskip(
    "graphpipe.remote",
    reason="the official client is missing: pip install --no-deps graphpipe==1.0.4",
)
convert = pytest.importorskip("graphpipe.convert")

# Its flatbuffers calls use an argument newer flatbuffers releases deprecate.
pytestmark = pytest.mark.filterwarnings("ignore:numElems is deprecated:DeprecationWarning")


def test_execute_with_one_output_name_returns_the_probabilities(server_url, image_batch):
    probs = remote.execute(server_url, image_batch, output_name="probs")

    assert isinstance(probs, np.ndarray)
    assert probs.shape == (3, 14) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_execute_without_output_names_returns_the_probabilities_array(server_url, image_batch):
    probs = remote.execute(server_url, image_batch)

    assert isinstance(probs, np.ndarray)
    assert probs.shape == (3, 14) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_execute_multi_without_output_names_returns_the_first_output(server_url, image_batch):
    [probs] = remote.execute_multi(server_url, [image_batch], ["images"], [])
    assert probs.shape == (3, 14)


def test_execute_multi_honours_names_and_order(server_url, image_batch):
    cams, probs = remote.execute_multi(server_url, [image_batch], ["images"], ["cams", "probs"])
    assert (cams.shape, probs.shape) == ((3, 14, 7, 7), (3, 14))
    np.testing.assert_allclose(probs, expected_outputs(image_batch)[0], rtol=1e-5, atol=1e-6)


def test_metadata_and_input_shapes(server_url):
    metadata = remote.metadata(server_url)
    assert metadata.Name() == b"tiny chexnet"
    assert metadata.Server() == b"chexweb-graphpipe"
    assert remote.get_input_names(server_url) == ["images"]
    assert remote.get_output_names(server_url) == ["probs", "cams"]
    assert remote.get_input_shapes(server_url) == [[None, 3, 224, 224]]
    assert remote.get_output_shapes(server_url) == [[None, 14], [None, 14, 7, 7]]


def test_a_bad_input_raises_an_http_error_with_the_servers_message(server_url):
    with pytest.raises(requests.HTTPError) as raised:
        remote.execute(server_url, np.zeros((1, 3, 224, 224), np.float64))
    assert raised.value.response.status_code == 400
    assert "input 'images' must be float32, got float64" in raised.value.response.text


def test_its_requests_decode_with_our_wire_format(image_batch):
    body = convert.serialize_infer_request(
        convert.InferReq("cfg", [image_batch], ["images"], ["probs", "cams"]))
    request = wire.decode_request(body)
    assert (request.config, request.input_names, request.output_names) == (
        "cfg", ["images"], ["probs", "cams"])
    np.testing.assert_array_equal(request.inputs[0], image_batch)
    assert isinstance(wire.decode_request(convert.serialize_metadata_request()),
                      wire.MetadataRequest)


def test_our_responses_decode_with_its_reader():
    outputs = [np.arange(28, dtype=np.float32).reshape(2, 14), np.ones((2, 3), np.int64)]
    decoded, errors = convert.deserialize_infer_response(wire.encode_infer_response(outputs))
    assert errors == []
    for got, sent in zip(decoded, outputs, strict=True):
        np.testing.assert_array_equal(got, sent)
        assert got.dtype == sent.dtype
