import pytest


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's studies in a folder of its own."""
