"""Rows of a batch: whether a model's answers can be split by row, and how many rows a request has.

Batching requests together and caching answers per row both rely on the first dimension of every
input and output being the batch (-1 in the metadata): row i of each output belongs to row i of
the inputs. A model with a fixed first dimension anywhere is run request by request, uncached.
"""

import numpy as np

from inference.graphpipe.wire import ModelMetadata


def splits_by_row(metadata: ModelMetadata) -> bool:
    return all(io.shape[:1] == [-1] for io in [*metadata.inputs, *metadata.outputs])


def request_rows(feeds: dict[str, np.ndarray]) -> int | None:
    """The rows every input has, or None when the inputs disagree (they cannot be split)."""
    rows = {array.shape[0] if array.ndim else None for array in feeds.values()}
    return rows.pop() if len(rows) == 1 else None


def outputs_have_rows(outputs: list[np.ndarray], rows: int) -> bool:
    return all(output.ndim and output.shape[0] == rows for output in outputs)
