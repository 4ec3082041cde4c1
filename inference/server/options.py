"""The model server's command line: graphpipe-onnx's flags where they make sense, and our own.

Every flag falls back to an environment variable named like graphpipe-go's: `--cache-dir` reads
`GP_CACHE_DIR`. A malformed value, on the command line or in the environment, is a usage error.
"""

import argparse
import os

from inference.server.endpoint import DEFAULT_OUTPUTS
from inference.server.runtime import CONV_ALGO_SEARCHES, DEVICES
from inference.server.value_inputs import ValueInputsError, read_value_inputs

DEFAULT_LISTEN = "127.0.0.1:9000"
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_BATCH = 1  # batching off: on the CPU it gains nothing (docs/benchmarks.md)
BATCHING_MAX_BATCH = 8  # what --max-batch to give to turn it on, e.g.
DEFAULT_MAX_WAIT_MS = 30.0
DEFAULT_CACHE_ROWS = 10_000
MIN_CONTROL_TOKEN_CHARS = 32
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}

USAGE = """\
GraphPipe model server for one ONNX model (a drop-in for graphpipe-onnx).

    python -m inference.server --model PATH.onnx --listen 127.0.0.1:9000

Every path is the model endpoint: GET answers the metadata as JSON (`curl host:9000`), POST takes
a GraphPipe flatbuffer request. Also: /control/is_ready, /control/is_alive, /control/shutdown
(drain, then exit; this machine only, or with the control token), /control/client_count and
/metrics (Prometheus).
"""


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"expected milliseconds from 0 to 60000, got {text!r}")
    return value


def value_inputs(text: str) -> dict:
    try:
        return read_value_inputs(text)
    except ValueInputsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def control_token(text: str) -> str:
    if len(text) < MIN_CONTROL_TOKEN_CHARS or not text.isascii() or not text.isprintable() \
            or " " in text:
        raise argparse.ArgumentTypeError(
            f"expected {MIN_CONTROL_TOKEN_CHARS} or more printable ASCII characters, no spaces")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m inference.server", description=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    option = _Options(parser)
    option("--model", help="the .onnx file to serve")
    option("--listen", type=listen_address, default=DEFAULT_LISTEN,
           help=f"HOST:PORT to listen on (default {DEFAULT_LISTEN})")
    option("--value-inputs", type=value_inputs,
           help='JSON file (or JSON text) {"input": [onnx element type, shape]} narrowing the '
                "model's declared inputs")
    option("--default-outputs", choices=DEFAULT_OUTPUTS, default="first",
           help="outputs of a request that names none: the model's first (default; what the "
                "official client's execute() expects) or all, as graphpipe-onnx answers")
    option("--cache", flag=True, help="answer rows seen before from a per-row response cache "
                                      "(key: config, input, dtype, row shape, bytes, outputs)")
    option("--cache-dir", help="keep the cache in this directory (default: in memory)")
    option("--cache-size", type=positive_int, default=DEFAULT_CACHE_ROWS,
           help=f"rows the in-memory cache keeps (default {DEFAULT_CACHE_ROWS})")
    option("--max-batch", type=positive_int, default=DEFAULT_MAX_BATCH,
           help=f"most rows one model run takes across concurrent requests (default "
                f"{DEFAULT_MAX_BATCH}: no batching. On the CPU, ONNX Runtime fills the cores with "
                f"one row already, and shared runs release their callers together, which leaves "
                f"the model idle while pipelined workers prepare their next study; e.g. "
                f"{BATCHING_MAX_BATCH} for many clients on hardware that gains from batches)")
    option("--max-wait-ms", type=milliseconds, default=DEFAULT_MAX_WAIT_MS,
           help=f"with --max-batch above 1: longest a request waits for others to share its "
                f"run (default {DEFAULT_MAX_WAIT_MS:g}; never when its client is the only one "
                f"active)")
    option("--threads", type=positive_int,
           help="ONNX Runtime intra-op threads (default: the cores this process may use)")
    option("--max-body-bytes", type=positive_int, default=DEFAULT_MAX_BODY_BYTES,
           help="larger request bodies get a 400 (default 64 MiB)")
    option("--control-token", type=control_token, secret=True,
           help=f"{MIN_CONTROL_TOKEN_CHARS}+ characters: /control/shutdown then needs "
                f"`Authorization: Bearer <token>` from anywhere, this machine included (default: "
                f"none, and it answers only this machine). Prefer the environment variable: a "
                f"command line is visible to every user of the machine")
    option("--device", choices=DEVICES, default="auto",
           help="where the model runs: cuda (the CUDA execution provider of onnxruntime-gpu, "
                "requirements-model-server-gpu.txt), cpu, or auto (default): the GPU when ONNX "
                "Runtime has a working one, else the CPU with a log line saying why")
    option("--conv-algo-search", choices=CONV_ALGO_SEARCHES, default="heuristic",
           help="on a GPU, how cuDNN convolution algorithms are chosen: heuristic (default), "
                "exhaustive (ONNX Runtime's default: benchmarks each new batch size's shapes) "
                "or default (one fixed algorithm)")
    option("--disable-cuda", flag=True,
           help="graphpipe-onnx's flag: the same as --device cpu")
    option("--spinning", flag=True,
           help="let ONNX Runtime's threads spin between runs (its default): a little faster "
                "per request on cores of its own, but they burn CPU the web server and workers "
                "sharing the machine need (default: off)")
    args = parser.parse_args(argv)
    if not args.model:
        parser.error("--model (or GP_MODEL) is required")
    if args.disable_cuda:
        args.device = "cpu"
    if args.cache_dir and not args.cache:
        parser.error("--cache-dir (or GP_CACHE_DIR) needs --cache (or GP_CACHE=1)")
    return args


class _Options:
    """Adds an option whose default comes from its GP_* environment variable, checked the same."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser

    def __call__(self, name: str, *, help: str, flag: bool = False, type=str, default=None,
                 choices=None, secret: bool = False) -> None:
        env = "GP_" + name.removeprefix("--").replace("-", "_").upper()
        text = os.environ.get(env)
        if flag:
            default = self._flag(env, text) if text is not None else False
            self.parser.add_argument(name, action="store_true", default=default,
                                     help=f"{help} (env {env})")
            return
        if text is not None:
            default = self._parsed(env, text, type, choices, secret)
        self.parser.add_argument(name, type=type, default=default, choices=choices,
                                 help=f"{help} (env {env})")

    def _flag(self, env: str, text: str) -> bool:
        if text.strip().lower() not in _TRUE | _FALSE:
            self.parser.error(f"{env}={text!r}: expected 1/true/yes/on or 0/false/no/off")
        return text.strip().lower() in _TRUE

    def _parsed(self, env: str, text: str, type, choices, secret: bool):
        try:
            value = type(text)
        except (argparse.ArgumentTypeError, ValueError) as error:
            self.parser.error(f"{env}={'(hidden)' if secret else repr(text)}: {error}")
        if choices is not None and value not in choices:
            self.parser.error(f"{env}={text!r}: expected one of {', '.join(choices)}")
        return value
