"""`--cache`: answers remembered per input row, so a row seen before skips the model.

A row's key is the sha256 of the request's `config`, the output names asked for (in order), each
input's name, dtype and shape without the batch dimension, and the row's bytes. Unlike
graphpipe-onnx's cache, `config` is part of the key: two requests that differ only in config
never share answers. A request whose rows are all known never reaches the model; otherwise only
its unknown rows do.

Rows live in memory (least recently used dropped past `max_rows`) or, with a directory, in one
file per row (GraphPipe InferResponse bytes; never evicted, like graphpipe-onnx's cache file).
"""

import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from inference.server.batch_rows import outputs_have_rows, request_rows
from inference.graphpipe.wire import WireError, decode_infer_response, encode_infer_response

Row = list[np.ndarray]  # one row of each output asked for


class MemoryRows:
    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self._rows: OrderedDict[str, Row] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Row | None:
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def put(self, key: str, row: Row) -> None:
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self.max_rows:
                self._rows.popitem(last=False)


class DirectoryRows:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> Row | None:
        try:
            return decode_infer_response(self._path(key).read_bytes())
        except (OSError, WireError):  # absent, or left half-written by a crash: recompute
            return None

    def put(self, key: str, row: Row) -> None:
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
            file.write(encode_infer_response(row))
        os.replace(file.name, path)  # readers see the whole file or none

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key


class ResponseCache:
    def __init__(self, rows: MemoryRows | DirectoryRows):
        self.rows = rows
        self.hits = 0
        self.misses = 0
        self._counting = threading.Lock()

    def run(self, model, feeds: dict[str, np.ndarray], output_names: list[str],
            config: str) -> list[np.ndarray]:
        """The outputs for FEEDS: known rows from the cache, the others from MODEL (then kept)."""
        count = request_rows(feeds)
        if count is None:
            return model.run(feeds, output_names)
        keys = row_keys(feeds, output_names, config, count)
        rows = [self.rows.get(key) for key in keys]
        unknown = [index for index, row in enumerate(rows) if row is None]
        with self._counting:
            self.hits += count - len(unknown)
            self.misses += len(unknown)
        if unknown:
            asked = feeds if len(unknown) == count else {
                name: array[unknown] for name, array in feeds.items()}
            outputs = model.run(asked, output_names)
            if not outputs_have_rows(outputs, len(unknown)):
                return outputs if len(unknown) == count else model.run(feeds, output_names)
            for position, index in enumerate(unknown):
                rows[index] = [np.array(output[position]) for output in outputs]
                self.rows.put(keys[index], rows[index])
        return [np.stack([row[output] for row in rows]) for output in range(len(output_names))]


def row_keys(feeds: dict[str, np.ndarray], output_names: list[str], config: str,
             count: int) -> list[str]:
    names = sorted(feeds)
    header = json.dumps([config, output_names, [
        [name, feeds[name].dtype.str, list(feeds[name].shape[1:])] for name in names]])
    common = hashlib.sha256(header.encode())
    keys = []
    for index in range(count):
        digest = common.copy()
        for name in names:  # the header fixes each row's length, so rows cannot run together
            digest.update(np.ascontiguousarray(feeds[name][index]).data)
        keys.append(digest.hexdigest())
    return keys
