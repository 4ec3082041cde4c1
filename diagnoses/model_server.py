"""The GraphPipe client this process uses: one per process, so its connection is reused."""

from functools import lru_cache

from django.conf import settings

from inference.client import GraphPipeClient


@lru_cache(maxsize=1)
def model_server_client() -> GraphPipeClient:
    return GraphPipeClient(
        settings.GRAPHPIPE_URL,
        connect_timeout=settings.GRAPHPIPE_CONNECT_TIMEOUT,
        read_timeout=settings.GRAPHPIPE_READ_TIMEOUT,
    )
