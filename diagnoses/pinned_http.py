"""An HTTP POST that connects to an address decided beforehand, not to what the URL's host
resolves to when connecting.

The URL's host name is kept everywhere else: it is the TLS server name (sent as SNI, and the name
the certificate is verified against) and the Host header. Redirects are never followed, and no
proxy or .netrc of the environment is used (a proxy would resolve the name itself)."""

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import parse_url

from diagnoses.callback_addresses import IPAddress


class PinnedAddressAdapter(HTTPAdapter):
    """Connects every request it sends to `address`, on the URL's port."""

    def __init__(self, address: IPAddress, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": urlsplit(request.url).hostname}
        return {**host_params, "host": str(self.address)}, pool_kwargs

    def add_headers(self, request, **kwargs) -> None:
        request.headers["Host"] = parse_url(request.url).netloc


def pinned_post(url: str, *, address: IPAddress | None, **kwargs) -> requests.Response:
    """POST to `url` over a connection to `address` (when None: to wherever the host resolves,
    as plain requests does), without following redirects."""
    with requests.Session() as session:
        if address is not None:
            session.trust_env = False
            adapter = PinnedAddressAdapter(address)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        return session.post(url, allow_redirects=False, **kwargs)
