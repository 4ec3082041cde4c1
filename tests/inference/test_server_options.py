"""The server's flags: graphpipe-onnx's names, GP_* environment fallbacks, strict parsing."""

import os
import subprocess
import sys

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.graphpipe.generated.Type import Type
from inference.server.runtime import OnnxModel, available_cores
from inference.server.options import parse_args
from inference.server.value_inputs import ValueInputsError, declared_inputs, read_value_inputs
from inference.graphpipe.wire import IOMetadata
from tests.inference.conftest import start_server

IMAGES = IOMetadata("images", shape=[-1, 3, 224, 224], type=Type.Float32)


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("GP_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_the_defaults(clean_env):
    args = parse_args(["--model", "m.onnx"])
    assert args.listen == ("127.0.0.1", 9000)
    assert (args.max_batch, args.max_wait_ms, args.default_outputs) == (1, 30.0, "first")
    assert (args.cache, args.cache_dir, args.value_inputs, args.threads) == (
        False, None, None, None)


def test_every_flag_falls_back_to_its_environment_variable(clean_env, tmp_path):
    for key, value in {"GP_MODEL": "m.onnx", "GP_LISTEN": "0.0.0.0:9100", "GP_CACHE": "true",
                       "GP_CACHE_DIR": str(tmp_path), "GP_CACHE_SIZE": "5",
                       "GP_MAX_BATCH": "4", "GP_MAX_WAIT_MS": "2.5", "GP_THREADS": "1",
                       "GP_DEFAULT_OUTPUTS": "all", "GP_DISABLE_CUDA": "1",
                       "GP_CONTROL_TOKEN": "t" * 32,
                       "GP_VALUE_INPUTS": '{"images": [1, [-1, 3, 224, 224]]}'}.items():
        clean_env.setenv(key, value)
    args = parse_args([])
    assert (args.model, args.listen, args.cache, args.cache_dir, args.cache_size) == (
        "m.onnx", ("0.0.0.0", 9100), True, str(tmp_path), 5)
    assert (args.max_batch, args.max_wait_ms, args.threads, args.default_outputs) == (
        4, 2.5, 1, "all")
    assert args.value_inputs == {"images": [1, [-1, 3, 224, 224]]}
    assert args.control_token == "t" * 32
    assert parse_args(["--max-batch", "2"]).max_batch == 2  # the command line wins


@pytest.mark.parametrize("argv, env, message", [
    ([], {}, "--model (or GP_MODEL) is required"),
    (["--max-batch", "0"], {}, "expected a positive integer"),
    ([], {"GP_MAX_BATCH": "eight"}, "GP_MAX_BATCH='eight': expected a positive integer"),
    ([], {"GP_CACHE": "maybe"}, "GP_CACHE='maybe': expected 1/true/yes/on"),
    ([], {"GP_DEFAULT_OUTPUTS": "some"}, "GP_DEFAULT_OUTPUTS='some': expected one of first, all"),
    (["--max-wait-ms", "-1"], {}, "expected milliseconds"),
    (["--cache-dir", "/tmp/x"], {}, "--cache-dir (or GP_CACHE_DIR) needs --cache"),
    (["--listen", "9000"], {}, "expected HOST:PORT"),
    (["--value-inputs", "{not json"], {}, "value inputs are not valid JSON"),
    (["--value-inputs", "/no/such/file.json"], {}, "cannot read the value inputs file"),
    (["--control-token", "short"], {}, "expected 32 or more printable ASCII characters"),
    ([], {"GP_CONTROL_TOKEN": "a b" * 16}, "GP_CONTROL_TOKEN=(hidden): expected 32 or more"),
])
def test_a_malformed_setting_is_a_usage_error(clean_env, capsys, argv, env, message):
    for key, value in {"GP_MODEL": "m.onnx", **env}.items():
        clean_env.setenv(key, value)
    if not env and not argv:
        clean_env.delenv("GP_MODEL")
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_malformed_control_token_is_not_written_out(clean_env, capsys):
    for argv, env in ((["--control-token", "secret"], {}), ([], {"GP_CONTROL_TOKEN": "secret"})):
        for key, value in {"GP_MODEL": "m.onnx", **env}.items():
            clean_env.setenv(key, value)
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert "secret" not in capsys.readouterr().err
        clean_env.delenv("GP_CONTROL_TOKEN", raising=False)


def test_there_is_no_control_token_by_default(clean_env):
    assert parse_args(["--model", "m.onnx"]).control_token is None


def test_value_inputs_may_fix_an_open_dimension():
    [declared] = declared_inputs([IMAGES], {"images": [1, [2, 3, 224, -1]]})
    assert declared.shape == [2, 3, 224, 224] and declared.type == Type.Float32


@pytest.mark.parametrize("declaration, message", [
    ({"pixels": [1, [-1, 3, 224, 224]]}, "value inputs name 'pixels', which the model does not"),
    ({"images": [11, [-1, 3, 224, 224]]}, "declares onnx element type 11, but the model takes "
                                          "float32"),
    ({"images": [1, [-1, 3, 225, 224]]}, "declares shape [-1, 3, 225, 224], which does not fit"),
    ({"images": [1, [-1, 3, 224]]}, "which does not fit the model's [-1, 3, 224, 224]"),
    ({"images": [1, "-1,3,224,224"]}, "must be [onnx element type, [dimension, ...]]"),
    ({"images": [1, [-2, 3, 224, 224]]}, "with dimensions >= -1"),
])
def test_value_inputs_that_contradict_the_model_are_refused(declaration, message):
    with pytest.raises(ValueInputsError) as raised:
        declared_inputs([IMAGES], declaration)
    assert message in str(raised.value)


def test_value_inputs_are_read_from_a_file(tmp_path):
    path = tmp_path / "value_inputs.json"
    path.write_text('{"images": [1, [1, 3, 224, 224]]}')
    assert read_value_inputs(str(path)) == {"images": [1, [1, 3, 224, 224]]}
    path.write_text("[1, 2]")
    with pytest.raises(ValueInputsError, match="must be a JSON object"):
        read_value_inputs(str(path))


def test_the_server_describes_and_enforces_declared_value_inputs(tiny_onnx, tmp_path):
    path = tmp_path / "value_inputs.json"
    path.write_text('{"images": [1, [2, 3, 224, 224]]}')
    server, url = start_server(tiny_onnx, "--value-inputs", str(path))
    try:
        metadata = requests.get(url, timeout=10).json()
        refused = requests.post(url, data=wire.encode_infer_request(
            [np.zeros((1, 3, 224, 224), np.float32)]), timeout=10)
    finally:
        server.stop()
    assert metadata["Inputs"][0]["Shape"] == [2, 3, 224, 224]
    assert refused.status_code == 400
    assert "must have shape [2, 3, 224, 224]" in refused.text


def test_a_contradicting_value_input_stops_the_server_at_start(tiny_onnx):
    result = subprocess.run(
        [sys.executable, "-m", "inference.server", "--model", str(tiny_onnx),
         "--value-inputs", '{"images": [7, [-1, 3, 224, 224]]}'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "declares onnx element type 7, but the model takes float32" in result.stderr
    assert "Traceback" not in result.stderr


def test_onnx_runtime_uses_the_cores_this_process_may_use(tiny_onnx):
    options = OnnxModel(tiny_onnx).session.get_session_options()
    assert options.intra_op_num_threads == available_cores() == len(os.sched_getaffinity(0))
    assert options.inter_op_num_threads == 1
