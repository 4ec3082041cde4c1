"""Dynamic batching: concurrent requests share one model run, and each gets its own rows back.

`BatchingModel` stands where the model stands (`metadata`, `run(feeds, output_names)`). Callers
queue their request with a Future; one inference thread owns the model and takes the oldest
request, then for at most `max_wait_s` gathers queued requests that fit with it (same inputs,
same row shapes and dtypes, same outputs asked for, in the same order) up to `max_batch` rows,
runs the model once on their rows concatenated, and hands each caller its slice.

It stops waiting early when every caller that could still send something is already in the batch
(`expected_callers`: the server's connections that sent a request in the last seconds), so one
client alone never waits, even beside idle keep-alive connections. A request of
`max_batch` rows or more runs on its own; `max_batch=1` turns batching off. If a shared run fails,
each request is run alone, so one bad request cannot fail its neighbours.

`run_here` lets a lone caller skip the queue: when it is the only caller that could send anything
and nothing is queued or running, it runs the model on its own thread (the server's event loop),
saving the hand-over to the inference thread and back (two thread wake-ups per request,
docs/benchmarks.md "GraphPipe server"). With company it answers None and the caller queues.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from inference.server.batch_rows import outputs_have_rows, request_rows, splits_by_row

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Job:
    feeds: dict[str, np.ndarray]
    output_names: list[str]
    rows: int | None  # None: cannot share a run
    future: Future = field(default_factory=Future)

    @property
    def shape_key(self) -> tuple:
        return (tuple(self.output_names), tuple(
            (name, array.shape[1:], array.dtype.str) for name, array in sorted(self.feeds.items())))


class BatchingModel:
    def __init__(self, model, *, max_batch: int = 8, max_wait_s: float = 0.005,
                 expected_callers: Callable[[], int] | None = None,
                 on_batch: Callable[[int], None] | None = None):
        self.model = model
        self.metadata = model.metadata
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.expected_callers = expected_callers
        self.on_batch = on_batch or (lambda rows: None)
        self.can_share_runs = max_batch > 1 and splits_by_row(model.metadata)
        self._pending: deque[Job] = deque()
        self._changed = threading.Condition()
        self._closing = False
        self._running = False  # a model run in progress, on the inference thread or run_here's
        self._thread = threading.Thread(target=self._serve, name="inference", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        with self._changed:
            return sum(job.rows or 1 for job in self._pending)

    def run(self, feeds: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        return self.submit(feeds, output_names).result()

    def submit(self, feeds: dict[str, np.ndarray], output_names: list[str]) -> Future:
        """Queue a run; the Future gets its outputs (what an event loop awaits, no thread held)."""
        job = Job(feeds, list(output_names), request_rows(feeds) if self.can_share_runs else None)
        with self._changed:
            if self._closing:
                raise RuntimeError("the model is shutting down")
            self._pending.append(job)
            self._changed.notify_all()
        return job.future

    def run_here(self, feeds: dict[str, np.ndarray],
                 output_names: list[str]) -> list[np.ndarray] | None:
        """The outputs, run on the calling thread, when the caller is alone (the only caller
        `expected_callers` counts, nothing queued or running); None, without running, when not."""
        if self.expected_callers is None or self.expected_callers() > 1:
            return None
        with self._changed:
            if self._pending or self._running or self._closing:
                return None
            self._running = True
        try:
            self.on_batch(request_rows(feeds) or 1)
            return self.model.run(feeds, output_names)
        finally:
            with self._changed:
                self._running = False
                if self._pending or self._closing:  # else the inference thread sleeps on
                    self._changed.notify_all()

    def close(self) -> None:
        """Finish the queued requests, then stop the inference thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    # --- the inference thread ------------------------------------------------------------------

    def _serve(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._run(batch)
            except BaseException as error:  # never leave a caller waiting forever
                log.exception("batch failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _next_batch(self) -> list[Job] | None:
        with self._changed:
            self._running = False
            while not self._pending or self._running:  # running: run_here's, on its thread
                if self._closing and not self._pending:
                    return None
                self._changed.wait()
            self._running = True
            first = self._pending.popleft()
            batch = [first]
            if first.rows is None or first.rows >= self.max_batch:
                return batch
            rows, key = first.rows, first.shape_key
            deadline = time.monotonic() + self.max_wait_s
            while True:
                rows += self._take_fitting(batch, key, self.max_batch - rows)
                if rows >= self.max_batch or self._nobody_else_can_join(batch):
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closing:
                    return batch
                self._changed.wait(remaining)

    def _take_fitting(self, batch: list[Job], key: tuple, room: int) -> int:
        """Move queued jobs that fit into BATCH, oldest first; the rows taken."""
        taken = 0
        for job in list(self._pending):
            if job.rows is not None and job.rows <= room - taken and job.shape_key == key:
                self._pending.remove(job)
                batch.append(job)
                taken += job.rows
        return taken

    def _nobody_else_can_join(self, batch: list[Job]) -> bool:
        if self.expected_callers is None:
            return False
        return len(batch) + len(self._pending) >= self.expected_callers()

    def _run(self, batch: list[Job]) -> None:
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        rows = [job.rows for job in batch]
        feeds = {name: np.concatenate([job.feeds[name] for job in batch])
                 for name in batch[0].feeds}
        self.on_batch(sum(rows))
        try:
            outputs = self.model.run(feeds, batch[0].output_names)
        except Exception:
            log.warning("a shared run of %d requests failed; running them one by one", len(batch))
            outputs = None
        if outputs is None or not outputs_have_rows(outputs, sum(rows)):
            for job in batch:
                self._run_alone(job)
            return
        start = 0
        for job, count in zip(batch, rows, strict=True):
            job.future.set_result([output[start:start + count] for output in outputs])
            start += count

    def _run_alone(self, job: Job) -> None:
        self.on_batch(job.rows or request_rows(job.feeds) or 1)
        try:
            job.future.set_result(self.model.run(job.feeds, job.output_names))
        except Exception as error:
            job.future.set_exception(error)
