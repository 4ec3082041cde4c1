"""ResponseCache: rows seen before are answered without the model; config is part of the key."""

import numpy as np
import pytest
import requests

from inference.graphpipe import wire
from inference.server.response_cache import DirectoryRows, MemoryRows, ResponseCache, row_keys
from tests.inference.conftest import (
    RecordingModel,
    expected_outputs,
    metric_line,
    start_server,
)


def rows(*values: float) -> dict[str, np.ndarray]:
    return {"x": np.array([[value, value + 1] for value in values], np.float32)}


@pytest.fixture(params=["memory", "directory"])
def cache(request, tmp_path) -> ResponseCache:
    store = MemoryRows(100) if request.param == "memory" else DirectoryRows(tmp_path / "cache")
    return ResponseCache(store)


def test_a_row_seen_before_is_not_run_again(cache):
    model = RecordingModel()

    first = cache.run(model, rows(1, 2), ["double", "total"], "")
    again = cache.run(model, rows(2, 3, 1), ["double", "total"], "")

    np.testing.assert_array_equal(first[0], rows(1, 2)["x"] * 2)
    np.testing.assert_array_equal(again[0], rows(2, 3, 1)["x"] * 2)
    np.testing.assert_array_equal(again[1], [5, 7, 3])
    assert model.runs == [2, 1]  # only the unknown row (3) reached the model the second time
    assert (cache.hits, cache.misses) == (2, 3)


def test_config_and_outputs_are_part_of_the_key(cache):
    model = RecordingModel()
    cache.run(model, rows(1), ["double"], "")
    cache.run(model, rows(1), ["double"], "other config")
    cache.run(model, rows(1), ["total"], "")
    cache.run(model, rows(1), ["total", "double"], "")
    assert model.runs == [1, 1, 1, 1]
    cache.run(model, rows(1), ["double"], "other config")
    assert model.runs == [1, 1, 1, 1]


def test_keys_differ_by_dtype_and_row_shape():
    as_float = {"x": np.zeros((1, 4), np.float32)}
    as_int = {"x": np.zeros((1, 4), np.int32)}
    reshaped = {"x": np.zeros((1, 2, 2), np.float32)}
    keys = {row_keys(feeds, ["y"], "", 1)[0] for feeds in (as_float, as_int, reshaped)}
    assert len(keys) == 3


def test_the_memory_cache_drops_the_least_recently_used_rows():
    cache, model = ResponseCache(MemoryRows(2)), RecordingModel()
    for value in (1, 2, 1, 3):  # 2 is the least recently used when 3 comes
        cache.run(model, rows(value), ["total"], "")
    cache.run(model, rows(1), ["total"], "")
    cache.run(model, rows(2), ["total"], "")
    assert model.runs == [1, 1, 1, 1]


def test_the_directory_cache_outlives_its_process_and_survives_a_torn_file(tmp_path):
    ResponseCache(DirectoryRows(tmp_path)).run(RecordingModel(), rows(1, 2), ["total"], "")
    [torn, _] = sorted(tmp_path.glob("*/*"))
    torn.write_bytes(torn.read_bytes()[:10])

    model = RecordingModel()
    [total] = ResponseCache(DirectoryRows(tmp_path)).run(model, rows(1, 2), ["total"], "")

    np.testing.assert_array_equal(total, [3, 5])
    assert model.runs == [1]


def test_the_server_cache_answers_repeats_and_keeps_configs_apart(tiny_onnx, tmp_path):
    server, url = start_server(tiny_onnx, "--cache", "--cache-dir", str(tmp_path / "rows"))
    images = np.random.default_rng(4).standard_normal((2, 3, 224, 224), dtype=np.float32)
    try:
        with requests.Session() as session:
            answers = [session.post(url, data=wire.encode_infer_request(
                [images], output_names=["probs"], config=config), timeout=30)
                for config in ("", "", "b")]
            metrics = session.get(url + "/metrics", timeout=10).text
    finally:
        server.stop()

    for answer in answers:
        [probs] = wire.decode_infer_response(answer.content)
        np.testing.assert_allclose(probs, expected_outputs(images)[0], rtol=1e-5, atol=1e-6)
    assert metric_line(metrics, 'graphpipe_cache_rows_total{result="hit"}') == "2.0"
    assert metric_line(metrics, 'graphpipe_cache_rows_total{result="miss"}') == "4.0"
