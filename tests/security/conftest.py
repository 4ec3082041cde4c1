import pytest


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's uploads in a folder of its own."""


@pytest.fixture(autouse=True)
def api_requests_counted_apart(throttle_counts):
    """The API's request counts in the suite's Redis, none counted yet."""
