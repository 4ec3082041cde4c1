"""The API over HTTP: submit, read and wait for studies; errors as the API words them."""

import io
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
import urllib3

API = "/api/v1"
RETRIES = 3


class ApiError(Exception):
    """The API refused (4xx) or could not be reached; the message is the API's own."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.fields = status, code, fields or {}


class ProgressBody:
    """A request body that reports each chunk http.client reads from it, with a known length."""

    def __init__(self, data: bytes, on_read: Callable[[int], None]):
        self._buffer, self._length, self._on_read = io.BytesIO(data), len(data), on_read
        self.sent = 0

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        chunk = self._buffer.read(size)
        self.sent += len(chunk)
        self._on_read(len(chunk))
        return chunk


class ChexWebClient:
    def __init__(self, url: str, token: str, *, timeout: float = 60):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Accept": "application/json",
                                     "User-Agent": "chexweb-cli/1"})

    def submit(self, path: Path, *, patient_id: str = "", accession_number: str = "",
               notes: str = "", tencrop: bool = False, callback_url: str = "",
               on_read: Callable[[int], None] = lambda n: None) -> dict:
        """Upload one file. Retried on network errors and 5xx with the same Idempotency-Key,
        so a retry never makes a second study."""
        fields = {"patient_id": patient_id, "accession_number": accession_number,
                  "notes": notes, "tencrop": "true" if tencrop else "false",
                  "callback_url": callback_url,
                  "file": (path.name, path.read_bytes(), "application/octet-stream")}
        body, content_type = urllib3.encode_multipart_formdata(fields)
        headers = {"Content-Type": content_type, "Idempotency-Key": f"cli-{uuid.uuid4()}"}
        for attempt in range(1, RETRIES + 1):
            reader = ProgressBody(body, on_read)
            try:
                return self._request("POST", f"{API}/studies/", data=reader, headers=headers)
            except ApiError as error:
                if (error.status is not None and error.status < 500) or attempt == RETRIES:
                    raise
                on_read(-reader.sent)  # sent again
                time.sleep(attempt)
        raise AssertionError("unreachable")

    def study(self, study: str) -> dict:
        return self._request("GET", _study_path(study))

    def studies(self, **filters) -> dict:
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        return self._request("GET", f"{API}/studies/", params=params)

    def models(self) -> list:
        return self._request("GET", f"{API}/models/")

    def wait(self, study: dict, *, interval: float) -> dict:
        """Poll a study until it is done or failed."""
        while study["status"] not in ("done", "failed", "not_eligible"):
            time.sleep(interval)
            study = self.study(study["url"])
        return study

    def _request(self, method: str, path: str, **kwargs):
        url = path if path.startswith(("http://", "https://")) else self.url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise ApiError(f"Could not reach ChexWeb at {self.url}: {error}") from None
        if response.status_code >= 400:
            raise _api_error(response)
        return response.json()


def _study_path(study: str) -> str:
    if study.startswith(("http://", "https://", "/")):
        return study
    try:
        return f"{API}/studies/{uuid.UUID(study)}/"
    except ValueError:
        raise ApiError(f"{study!r} is not a study id (a UUID) or a study URL.") from None


def _api_error(response: requests.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(error["message"], status=response.status_code, code=error["code"],
                        fields=error.get("fields") or {})
    except (ValueError, KeyError, TypeError):
        return ApiError(f"HTTP {response.status_code} from {response.url}",
                        status=response.status_code)
