"""docker-compose.yml cannot start here (no Docker engine): check it runs what the tests run."""

import yaml

from tests.processes import REPO, procfile_command

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PROCFILE_NAMES = [line.split(":")[0] for line in (REPO / "Procfile").read_text().splitlines()
                  if line.strip()]
# The processes the tests start, by their Procfile name (tests/system/conftest.py,
# tests/faults/conftest.py).
STARTED_BY_TESTS = {"model", "worker", "web", "beat"}


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
