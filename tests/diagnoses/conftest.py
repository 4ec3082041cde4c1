import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from diagnoses.model_server import model_server_client
from tests.conftest import SAMPLES


@pytest.fixture(autouse=True)
def study_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": tmp_path / "media"}},
    }
    return tmp_path / "media"


def user_in(django_user_model, username: str, role: str):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username=username, password="x-ray-4-ever!")
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def clinician(django_user_model):
    return user_in(django_user_model, "dr.house", "clinician")


@pytest.fixture
def reviewer(django_user_model):
    return user_in(django_user_model, "dr.cuddy", "reviewer")


@pytest.fixture
def outsider(django_user_model):
    """Logged in, but in no role."""
    return django_user_model.objects.create_user(username="visitor", password="x-ray-4-ever!")


@pytest.fixture
def logged_in(client, clinician):
    client.force_login(clinician)
    return client


@pytest.fixture
def model_server(settings, graphpipe_url):
    """Point this process's GraphPipe client at the real test server."""
    settings.GRAPHPIPE_URL = graphpipe_url
    model_server_client.cache_clear()
    yield graphpipe_url
    model_server_client.cache_clear()


@pytest.fixture
def unreachable_model_server(settings):
    from tests.processes import free_port

    settings.GRAPHPIPE_URL = f"http://127.0.0.1:{free_port()}"
    model_server_client.cache_clear()
    yield settings.GRAPHPIPE_URL
    model_server_client.cache_clear()


def upload(name: str = "nih512_00027426_000.png", content: bytes | None = None):
    data = (SAMPLES / name).read_bytes() if content is None else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")
