"""docker-compose.yml cannot start here (no Docker engine): check it runs what the tests run."""

import yaml

from tests.processes import REPO, procfile_command

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PROCFILE_NAMES = [line.split(":")[0] for line in (REPO / "Procfile").read_text().splitlines()
                  if line.strip()]
# The processes the tests start, by their Procfile name (tests/system/conftest.py,
# tests/faults/conftest.py, tests/system/test_shadow_system.py, tests/dicom/conftest.py).
STARTED_BY_TESTS = {"model", "worker", "shadow", "web", "beat", "dicom"}


def test_every_procfile_process_is_started_by_the_system_tests():
    assert set(PROCFILE_NAMES) == STARTED_BY_TESTS
    for name in PROCFILE_NAMES:
        assert procfile_command(name)


def test_every_app_service_runs_a_procfile_process():
    run_by_compose = {}
    for service, spec in COMPOSE["services"].items():
        command = spec.get("command")
        if command and command[:3] == ["honcho", "start", "-f"]:
            assert command[3] == "Procfile" and len(command) == 5, service
            run_by_compose[service] = command[4]
    assert set(run_by_compose.values()) == set(PROCFILE_NAMES)


def test_compose_migrates_the_way_the_tests_do():
    assert COMPOSE["services"]["migrate"]["command"] == ["python", "manage.py", "migrate",
                                                        "--noinput"]


def test_compose_wires_the_services_together():
    env = COMPOSE["services"]["worker"]["environment"]
    assert env["GRAPHPIPE_URL"] == "http://model:9000"
    assert env["REDIS_URL"].startswith("redis://redis:")
    assert COMPOSE["services"]["model"]["environment"]["GRAPHPIPE_LISTEN"] == "0.0.0.0:9000"
    assert COMPOSE["services"]["redis"]["command"] == ["redis-server", "--appendonly", "yes"]


APP_ENV = COMPOSE["x-app"]["environment"]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_every_service_is_one_the_tests_run_or_a_stock_image():
    """Procfile processes (above), the migration, the export job, and PostgreSQL and Redis."""
    services = COMPOSE["services"]
    honcho = {name for name, spec in services.items()
              if spec.get("command", [])[:3] == ["honcho", "start", "-f"]}
    stock = {name for name, spec in services.items() if "build" not in spec
             and spec.get("image", "").split(":")[0] in ("postgres", "redis")}
    assert stock == {"postgres", "redis"}
    assert set(services) == honcho | stock | {"migrate", "export"}
    # The export job runs the command tests/conftest.py runs to export the stand-in.
    assert services["export"]["build"]["target"] == "exporter"
    assert "python -m inference.model.export --checkpoint" in DOCKERFILE


def test_the_model_server_has_an_image_of_its_own_without_django():
    model = COMPOSE["services"]["model"]
    assert model["build"] == {"context": ".", "dockerfile": "Dockerfile.model"}
    assert "DATABASE_URL" not in model["environment"]
    assert model["environment"]["CHEXNET_ONNX"] == APP_ENV["CHEXNET_ONNX"]
    assert "models:/models:ro" in model["volumes"]


def test_production_runs_on_postgresql_with_media_and_model_volumes():
    assert APP_ENV["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:5432/" in APP_ENV["DATABASE_URL"]
    for service in ("web", "worker", "dicom"):
        spec = COMPOSE["services"][service]
        assert f"media:{APP_ENV['CHEXWEB_MEDIA_ROOT']}" in spec["volumes"]
        assert "models:/models:ro" in spec["volumes"]
    assert {"postgres", "redis", "media", "models"} <= set(COMPOSE["volumes"])
    assert COMPOSE["services"]["redis"]["volumes"] == ["redis:/data"]  # the AOF survives


def test_long_running_services_have_health_checks():
    services = COMPOSE["services"]
    for name in ("postgres", "redis", "model", "worker", "web"):
        assert services[name]["healthcheck"]["test"], name
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in web_check
    assert APP_ENV["CHEXWEB_ALLOWED_HOSTS"].endswith(",127.0.0.1")  # whatever hosts are set
    assert "celery -A chexweb inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_the_dicom_listener_listens_on_all_interfaces_on_the_dicom_port():
    dicom = COMPOSE["services"]["dicom"]
    assert dicom["environment"]["CHEXWEB_DICOM_LISTEN"] == "0.0.0.0:11112"
    assert dicom["ports"] == ["11112:11112"]
    assert f"media:{APP_ENV['CHEXWEB_MEDIA_ROOT']}" in dicom["volumes"]
    for name in ("CHEXWEB_DICOM_PEERS", "CHEXWEB_DICOM_SEND_TO", "CHEXWEB_DICOMWEB_SEND_TO"):
        assert name in APP_ENV, name  # the worker sends, the listener takes: both read them


def test_app_services_scale_without_fixed_names_or_ports():
    for name in ("worker", "model"):
        spec = COMPOSE["services"][name]
        assert "container_name" not in spec and "ports" not in spec, name


def test_compose_starts_a_long_running_service_again_when_its_process_dies():
    for name, spec in COMPOSE["services"].items():
        if name in ("migrate", "export"):  # one-off jobs: done once they exit
            assert spec.get("restart", "no") == "no", name
        else:
            assert spec["restart"] == "unless-stopped", name


def test_make_run_supervises_every_procfile_line():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nrun: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert recipe[-1].strip().endswith("$(BIN)/python scripts/supervise.py Procfile")
    assert "honcho" not in "\n".join(recipe)
