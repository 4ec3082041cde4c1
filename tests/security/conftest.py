import pytest

from tests.api.conftest import throttle_counts  # noqa: F401
from tests.diagnoses.conftest import (  # noqa: F401 (fixtures shared with the app's tests)
    clinician,
    logged_in,
    model_server,
    outsider,
    reviewer,
    study_storage,
)


@pytest.fixture(autouse=True)
def api_requests_counted_apart(throttle_counts):  # noqa: F811
    """The API's request counts in the suite's Redis, none counted yet."""
