import json

import pytest

from chexweb_cli.client import ProgressBody
from chexweb_cli.commands import main
from diagnoses.models import Study
from tests.shared import SAMPLES

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

XRAY = str(SAMPLES / "nih512_00027426_000.png")


@pytest.fixture
def run(chexweb, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


def test_submit_wait_prints_each_finished_study(run):
    code, out, _ = run("submit", XRAY, "--patient-id", "P-42", "--wait", "--interval", "0.1")
    assert code == 0
    study = Study.objects.get()
    assert str(study.pk) in out and "done" in out and "P-42" in out


def test_submit_json_prints_the_api_answer(run):
    code, out, _ = run("submit", XRAY, XRAY, "--accession", "ACC-9", "--json")
    studies = json.loads(out)
    assert code == 0 and len(studies) == 2
    assert {s["accession_number"] for s in studies} == {"ACC-9"}


def test_a_refused_file_is_named_with_the_reason_and_the_others_go_on(run, tmp_path):
    report = tmp_path / "report.png"
    report.write_text("not an x-ray")
    code, _, err = run("submit", str(report), XRAY)
    assert code == 1
    assert "report.png: file: not a readable image" in err
    assert Study.objects.count() == 1


def test_a_missing_file_is_a_usage_error(run):
    code, _, err = run("submit", "/nonexistent.png")
    assert code == 2 and "no such file: /nonexistent.png" in err


def test_list_and_show(run):
    run("submit", XRAY, "--patient-id", "P-7")
    code, out, _ = run("list", "--status", "done")
    assert code == 0 and "P-7" in out and "1 of 1 studies" in out
    study = Study.objects.get()
    code, out, _ = run("show", str(study.pk))
    assert code == 0 and "Status     done" in out and "Effusion" in out
    assert "not medical predictions" in out
    code, out, _ = run("show", str(study.pk), "--json")
    assert json.loads(out)["id"] == str(study.pk)
    code, out, _ = run("list", "--json", "--search", "nobody")
    assert json.loads(out)["count"] == 0


def test_models_lists_the_model_versions(run):
    run("submit", XRAY)
    code, out, _ = run("models")
    assert code == 0 and "NO" in out  # the stand-in's weights are not verified


def test_api_errors_are_printed_as_the_api_words_them(run, monkeypatch):
    code, _, err = run("show", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "chexweb: No Study matches the given query." in err
    code, _, err = run("show", "not-a-study")
    assert code == 1 and "is not a study id" in err
    monkeypatch.setenv("CHEXWEB_TOKEN", "chx_wrong")
    code, _, err = run("list")
    assert code == 1 and "Invalid API token." in err


def test_the_upload_body_reports_every_byte_it_gives():
    seen = []
    body = ProgressBody(b"x" * 20000, seen.append)
    while body.read(8192):
        pass
    assert len(body) == 20000 and sum(seen) == 20000 and body.sent == 20000
