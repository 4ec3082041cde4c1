"""The GraphPipe wire format: round trips, the generated schema, and garbage that must not crash."""

import random
import time

import flatbuffers
import numpy as np
import pytest

from inference.graphpipe import wire
from inference.graphpipe.generated import Error, InferResponse, MetadataRequest, Request
from inference.graphpipe.generated.Type import Type
from inference.graphpipe.wire import IOMetadata, ModelMetadata, WireError
from tests.inference.conftest import raw_request

ALL_DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float16",
              "float32", "float64"]


def metadata() -> ModelMetadata:
    return ModelMetadata(
        name="tiny chexnet", version="1.0.0", server="chexweb-graphpipe", description='{"a": 1}',
        inputs=[IOMetadata("images", "pixels", [-1, 3, 224, 224], Type.Float32)],
        outputs=[IOMetadata("probs", "", [-1, 14], Type.Float32),
                 IOMetadata("cams", "", [-1, 14, 7, 7], Type.Float32)],
    )


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_an_infer_request_keeps_tensors_names_and_config():
    images = np.random.default_rng(1).standard_normal((2, 3, 224, 224), dtype=np.float32)
    body = wire.encode_infer_request([images], input_names=["images"],
                                     output_names=["cams", "probs"], config="tencrop=1")

    request = wire.decode_request(body)

    assert isinstance(request, wire.InferRequest)
    assert request.input_names == ["images"]
    assert request.output_names == ["cams", "probs"]
    assert request.config == "tencrop=1"
    assert len(request.inputs) == 1
    assert request.inputs[0].dtype == np.float32
    np.testing.assert_array_equal(request.inputs[0], images)


def test_names_and_config_are_optional():
    request = wire.decode_request(wire.encode_infer_request([np.zeros((1, 2), np.float32)]))
    assert (request.input_names, request.output_names, request.config) == ([], [], "")


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_numeric_type_round_trips(dtype):
    array = (np.arange(24) * 7 % 13).astype(dtype).reshape(2, 3, 4)
    [decoded] = wire.decode_infer_response(wire.encode_infer_response([array]))
    assert decoded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(decoded, array)


def test_types_are_the_graphpipe_enum_numbers():
    assert wire.type_for_dtype(np.float32) == 10 == Type.Float32
    assert wire.type_for_dtype(np.uint8) == 1
    assert wire.type_for_dtype(np.float64) == 11
    assert wire.type_for_dtype(np.dtype(">f4")) == 10
    assert wire.dtype_for_type(Type.Int64) == np.int64


def test_big_endian_and_non_contiguous_arrays_are_sent_as_their_values():
    big_endian = np.arange(6, dtype=">i4").reshape(2, 3)
    transposed = np.arange(12, dtype=np.float32).reshape(3, 4).T
    scalar = np.float64(2.5)
    decoded = wire.decode_infer_response(wire.encode_infer_response([big_endian, transposed,
                                                                      scalar]))
    np.testing.assert_array_equal(decoded[0], big_endian)
    np.testing.assert_array_equal(decoded[1], transposed)
    assert decoded[2].shape == () and decoded[2] == 2.5


def test_decoded_tensors_are_read_only_views_of_the_body():
    body = wire.encode_infer_request([np.ones((1, 3, 224, 224), np.float32)])
    [tensor] = wire.decode_request(body).inputs
    start = address(np.frombuffer(body, np.uint8))
    assert start <= address(tensor) < start + len(body)
    assert address(tensor) % 16 == 0
    assert not tensor.flags.writeable


def test_encoding_and_decoding_a_chexnet_request_is_fast():
    images = np.random.default_rng(2).standard_normal((1, 3, 224, 224), dtype=np.float32)
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        wire.decode_request(wire.encode_infer_request([images], output_names=["probs"]))
        timings.append(time.perf_counter() - started)
    assert sorted(timings)[len(timings) // 2] < 0.005  # ~0.3 ms; a per-element loop takes seconds


def test_a_metadata_request_is_recognised():
    assert isinstance(wire.decode_request(wire.encode_metadata_request()), wire.MetadataRequest)


def test_a_request_with_a_none_union_asks_for_metadata():
    builder = flatbuffers.Builder(64)
    Request.Start(builder)
    builder.Finish(Request.End(builder))
    assert isinstance(wire.decode_request(bytes(builder.Output())), wire.MetadataRequest)


def test_a_metadata_request_written_by_the_generated_builders_is_recognised():
    builder = flatbuffers.Builder(64)
    MetadataRequest.Start(builder)
    empty = MetadataRequest.End(builder)
    Request.Start(builder)
    Request.AddReqType(builder, 2)
    Request.AddReq(builder, empty)
    builder.Finish(Request.End(builder))
    assert isinstance(wire.decode_request(bytes(builder.Output())), wire.MetadataRequest)


def test_metadata_round_trips():
    assert wire.decode_metadata_response(wire.encode_metadata_response(metadata())) == metadata()


def test_metadata_json_has_the_go_servers_keys():
    document = metadata().to_json()
    assert list(document) == ["Name", "Version", "Server", "Description", "Inputs", "Outputs"]
    assert document["Inputs"] == [{"Name": "images", "Description": "pixels",
                                   "Shape": [-1, 3, 224, 224], "Type": 10}]
    assert [output["Name"] for output in document["Outputs"]] == ["probs", "cams"]


def test_an_infer_response_keeps_the_order_of_its_outputs():
    probs, cams = np.full((2, 14), 0.5, np.float32), np.zeros((2, 14, 7, 7), np.float32)
    decoded = wire.decode_infer_response(wire.encode_infer_response([cams, probs]))
    assert [array.shape for array in decoded] == [(2, 14, 7, 7), (2, 14)]
    np.testing.assert_array_equal(decoded[1], probs)


def test_a_response_carrying_errors_is_refused_with_their_messages():
    builder = flatbuffers.Builder(256)
    message = builder.CreateString("out of memory")
    Error.Start(builder)
    Error.AddCode(builder, 7)
    Error.AddMessage(builder, message)
    error = Error.End(builder)
    InferResponse.StartErrorsVector(builder, 1)
    builder.PrependUOffsetTRelative(error)
    errors = builder.EndVector()
    InferResponse.Start(builder)
    InferResponse.AddErrors(builder, errors)
    builder.Finish(InferResponse.End(builder))
    with pytest.raises(WireError, match="7: out of memory"):
        wire.decode_infer_response(bytes(builder.Output()))


def test_an_empty_body_is_refused():
    with pytest.raises(WireError, match="empty body"):
        wire.decode_request(b"")


def test_a_wrong_data_length_is_refused():
    body = raw_request(Type.Float32, [2, 3], b"\x00" * 20)
    with pytest.raises(WireError, match=r"float32 tensor of shape \[2, 3\] needs 24 bytes of "
                                        r"data, got 20"):
        wire.decode_request(body)


def test_string_tensors_are_refused():
    with pytest.raises(WireError, match="String tensors are not supported"):
        wire.decode_request(raw_request(Type.String, [1], b""))


@pytest.mark.parametrize("type_", [0, 13, 255])
def test_unknown_tensor_types_are_refused(type_):
    with pytest.raises(WireError, match=f"unknown tensor type {type_}"):
        wire.decode_request(raw_request(type_, [1], b"\x00"))


def test_negative_dimensions_are_refused():
    with pytest.raises(WireError, match="negative dimension"):
        wire.decode_request(raw_request(Type.Uint8, [-1], b""))


def test_an_unknown_union_type_is_refused():
    with pytest.raises(WireError, match="unknown request type 9"):
        wire.decode_request(raw_request(Type.Uint8, [1], b"\x00", union_type=9))


def test_dtypes_graphpipe_cannot_carry_are_refused_when_encoding():
    with pytest.raises(WireError, match="no tensor type for numpy dtype bool"):
        wire.encode_infer_request([np.array([True])])


def test_every_truncation_of_a_request_is_refused_unless_only_padding_went():
    body = wire.encode_infer_request([np.arange(6, dtype=np.float32)], input_names=["images"],
                                     output_names=["probs"], config="x")
    refused = 0
    for length in range(len(body)):
        try:
            request = wire.decode_request(body[:length])
        except WireError:
            refused += 1
        else:  # the builder pads the end; dropping padding loses nothing
            assert body[length:].strip(b"\x00") == b""
            assert (request.input_names, request.output_names) == (["images"], ["probs"])
            np.testing.assert_array_equal(request.inputs[0], np.arange(6))
    assert refused >= len(body) - 8


@pytest.mark.parametrize("decode", [wire.decode_request, wire.decode_infer_response,
                                    wire.decode_metadata_response])
def test_garbage_raises_only_wire_errors_and_never_hangs(decode):
    """Random bytes and damaged messages: decoded or refused, never an IndexError or a hang."""
    rng = random.Random(7)
    originals = [
        wire.encode_infer_request([np.ones((2, 3), np.float32), np.arange(4)],
                                  input_names=["a", "b"], output_names=["p"], config="c"),
        wire.encode_infer_response([np.ones((2, 3), np.float32)]),
        wire.encode_metadata_response(metadata()),
    ]
    refused = 0
    started = time.monotonic()
    for _ in range(3000):
        body = bytearray(rng.choice(originals))
        damage = rng.randrange(3)
        if damage == 0:
            body = bytearray(rng.randbytes(rng.randrange(1, 80)))
        elif damage == 1:
            for _ in range(rng.randrange(1, 4)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        else:
            at = rng.randrange(len(body) - 4)
            body[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x80",
                                          b"\xfc\xff\xff\xff", b"\xff\xff\x00\x00"])
        try:
            decode(bytes(body))
        except WireError:
            refused += 1
    assert refused > 1000
    assert time.monotonic() - started < 30


def test_huge_list_lengths_are_refused_without_looping():
    body = bytearray(wire.encode_infer_request([np.ones(1, np.float32)] * 2))
    # The input_tensors vector's length field: find the little-endian 2 that precedes the offsets.
    request = wire.decode_request(bytes(body))
    assert len(request.inputs) == 2
    positions = [at for at in range(0, len(body) - 4, 4) if body[at:at + 4] == b"\x02\x00\x00\x00"]
    for at in positions:
        damaged = body.copy()
        damaged[at:at + 4] = b"\xff\xff\xff\x7f"
        started = time.monotonic()
        with pytest.raises(WireError):
            wire.decode_request(bytes(damaged))
        assert time.monotonic() - started < 1
