"""Make sure a Redis broker answers at REDIS_URL; start a local one if that is possible.

Used by `make run`. Exits non-zero with a clear message when no broker can be had.
"""

import os
import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import redis

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def answers() -> bool:
    try:
        return bool(redis.Redis.from_url(URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def main() -> int:
    if answers():
        print(f"Redis answers at {URL}")
        return 0
    parsed = urlparse(URL)
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    server = shutil.which("redis-server")
    if not (local and server):
        print(
            f"No Redis answers at {URL}. Start one (e.g. `redis-server`, or Debian package "
            "redis-server) or set REDIS_URL to a broker that runs.",
            file=sys.stderr,
        )
        return 1
    port = str(parsed.port or 6379)
    print(f"No Redis at {URL}; starting a local redis-server on port {port}")
    subprocess.run(
        [server, "--port", port, "--bind", parsed.hostname, "--daemonize", "yes",
         "--save", "", "--appendonly", "no"],
        check=True,
    )
    for _ in range(50):
        if answers():
            return 0
        time.sleep(0.1)
    print(f"Started redis-server, but nothing answers at {URL}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
