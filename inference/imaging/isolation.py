"""An untrusted upload decoded in a child process with memory and CPU limits.

The image budget bounds what a correct decoder may cost; this bounds what a broken one may. Should
the next decoder bug allocate without end, loop or crash, it costs a child process, refused with an
ImageError, and never the web or worker process that asked. The child is forked from the caller
(the decoders are imported already, the upload is not copied), so a decode costs a fork, not a new
interpreter; it does nothing but decode and send its answer back through a pipe. (A forkserver or
spawn child would run the caller's main module again: gunicorn's, celery's or pytest's.)
"""

import faulthandler
import multiprocessing
import os
import resource
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection

from inference.imaging.budget import IMAGE_BUDGET, ImageBudget, ImageOverBudget
from inference.imaging.preprocessing import ImageError
from inference.imaging.study_image import StudyImage, read_study_image

_CONTEXT = multiprocessing.get_context("fork")


@dataclass(frozen=True)
class DecodeLimits:
    memory_bytes: int = 2 * 2**30  # address space the child may add to what it starts with
    cpu_seconds: int = 20
    wall_seconds: float = 30.0


def read_study_image_isolated(
    data: bytes, *, limits: DecodeLimits = DecodeLimits(), budget: ImageBudget = IMAGE_BUDGET
) -> StudyImage:
    """`read_study_image` in a child process held to LIMITS: the same answer or ImageError, and
    ImageOverBudget when the child runs out of memory or time or dies."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_decode, args=(sender, data, limits, budget), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.wall_seconds):
            raise ImageOverBudget(
                f"image too slow to decode: more than {limits.wall_seconds:g} s")
        outcome = receiver.recv()
    except EOFError:  # the child died without an answer
        child.join(5)
        raise _death(child) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome


def _decode(sender: Connection, data: bytes, limits: DecodeLimits, budget: ImageBudget) -> None:
    faulthandler.disable()  # a crash here is answered by the parent, not dumped to its log
    memory = _address_space() + limits.memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    try:
        outcome = read_study_image(data, budget=budget)
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


def _death(child) -> ImageError:
    if child.exitcode == -signal.SIGXCPU:
        return ImageOverBudget("image too slow to decode: the decoder ran over its CPU time limit")
    how = f"signal {-child.exitcode}" if (child.exitcode or 0) < 0 else f"exit {child.exitcode}"
    return ImageError(f"not a readable image: the decoder crashed on it ({how})")
