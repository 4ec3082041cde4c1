"""An untrusted upload decoded in a child process with memory and CPU limits.

The image budget bounds what a correct decoder may cost; this bounds what a broken one may. Should
the next decoder bug allocate without end, loop or crash, it costs a child process, refused with an
ImageError, and never the web or worker process that asked. The child is forked from the caller
(the decoders are imported already, the upload is not copied), so a decode costs a fork, not a new
interpreter; it does nothing but decode, send its answer back through a pipe and exit.

os.fork, not multiprocessing.Process: a Celery prefork worker is a daemonic process, which
multiprocessing forbids to have children, and a forkserver or spawn child would run the caller's
main module (gunicorn's, celery's, pytest's) again.
"""

import faulthandler
import os
import resource
import signal
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from inference.imaging.budget import IMAGE_BUDGET, ImageBudget, ImageOverBudget
from inference.imaging.preprocessing import ImageError
from inference.imaging.study_image import (
    StudyImage,
    StudyUpload,
    read_study_image,
    study_upload_of,
)


@dataclass(frozen=True)
class DecodeLimits:
    memory_bytes: int = 2 * 2**30  # address space the child may add to what it starts with
    cpu_seconds: int = 20
    wall_seconds: float = 30.0


def read_study_image_isolated(
    data: bytes, *, limits: DecodeLimits = DecodeLimits(), budget: ImageBudget = IMAGE_BUDGET
) -> StudyImage:
    """`read_study_image` in a child process held to LIMITS: the same answer or ImageError;
    ImageOverBudget when the child runs out of memory or time."""
    return _isolated(data, limits, budget, keep_image=True)


def read_study_upload_isolated(
    data: bytes, *, limits: DecodeLimits = DecodeLimits(), budget: ImageBudget = IMAGE_BUDGET
) -> StudyUpload:
    """As `read_study_image_isolated`, but the child also makes the resized copy and sends back
    only the `StudyUpload` (facts and copy, tens of KB), not the decoded image (MBs to pickle,
    send through the pipe and unpickle)."""
    return _isolated(data, limits, budget, keep_image=False)


def _isolated(data: bytes, limits: DecodeLimits, budget: ImageBudget, *, keep_image: bool):
    receiver, sender = Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the child: decode, answer, exit without running the parent's exit handlers
        try:
            receiver.close()
            _decode(sender, data, limits, budget, keep_image)
        finally:
            os._exit(0)
    sender.close()
    reaped = False
    try:
        if not receiver.poll(limits.wall_seconds):
            raise ImageOverBudget(
                f"image too slow to decode: more than {limits.wall_seconds:g} s")
        outcome = receiver.recv()
    except EOFError:  # the child died without an answer
        reaped = True
        raise _death(_exit_code(pid)) from None
    finally:
        receiver.close()
        if not reaped:  # never signal a pid once reaped: it may be another process's by now
            os.kill(pid, signal.SIGKILL)
            _exit_code(pid)
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome


def _decode(sender: Connection, data: bytes, limits: DecodeLimits, budget: ImageBudget,
            keep_image: bool) -> None:
    faulthandler.disable()  # a crash here is answered by the parent, not dumped to its log
    memory = _address_space() + limits.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        outcome = read_study_image(data, budget=budget)
        if not keep_image:
            outcome = study_upload_of(outcome)
    except ImageError as refused:
        outcome = refused
    except MemoryError:
        outcome = ImageOverBudget(
            f"image too large to decode: over the decoder's memory limit "
            f"({limits.memory_bytes / 2**20:,.0f} MiB)")
    except Exception as error:  # a decoder bug: the file is refused, the process lives on
        outcome = ImageError(f"not a readable image: the decoder failed ({type(error).__name__})")
    sender.send(outcome)
    sender.close()


def _address_space() -> int:
    """This process's address space in bytes (Linux), 0 where /proc does not say."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _exit_code(pid: int) -> int | None:
    """Wait for the child and reap it: its exit code, -signal if a signal ended it."""
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    except ChildProcessError:  # reaped already (a SIGCHLD handler of the host process)
        return None


def _death(code: int | None) -> ImageError:
    if code == -signal.SIGXCPU:
        return ImageOverBudget("image too slow to decode: the decoder ran over its CPU time limit")
    how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
    return ImageError(f"not a readable image: the decoder crashed on it ({how})")
