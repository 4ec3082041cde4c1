"""The GraphPipe client this process uses: the active model version's server when it names one,
else GRAPHPIPE_URL. One client per server URL per process, so connections are reused."""

from functools import lru_cache

from django.conf import settings

from diagnoses.model_versions import active_model_version
from diagnoses.models import ModelVersion
from inference.graphpipe.client import GraphPipeClient


def model_server_client() -> GraphPipeClient:
    return _client_for(model_server_url(active_model_version()))


def model_server_client_for(url: str) -> GraphPipeClient:
    """The client of the server(s) at `url` (a shadow model version's)."""
    return _client_for(url)


def model_server_url(active: ModelVersion | None) -> str:
    """The server(s) new studies go to, comma-separated: the active model version's when it names
    them, else GRAPHPIPE_URL(S)."""
    return active.serving_url if active and active.serving_url else settings.GRAPHPIPE_URL


@lru_cache(maxsize=8)
def _client_for(url: str) -> GraphPipeClient:
    return GraphPipeClient(
        url,
        connect_timeout=settings.GRAPHPIPE_CONNECT_TIMEOUT,
        read_timeout=settings.GRAPHPIPE_READ_TIMEOUT,
    )


model_server_client.cache_clear = _client_for.cache_clear  # drops the clients (tests)
