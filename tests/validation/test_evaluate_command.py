"""`manage.py evaluate` on the shared samples and their labels, against the suite's real model
server serving the stand-in: the report files and their numbers."""

import csv
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from sklearn.metrics import roc_auc_score

from inference.findings import FINDINGS
from inference.validation.published import PUBLISHED_MEAN_AUROC
from tests.shared import SAMPLES, skip_without

pytestmark = pytest.mark.django_db


@pytest.fixture
def nih_labels(tmp_path):
    """The samples' labels.json as NIH's Data_Entry_2017.csv lays them out."""
    skip_without(SAMPLES / "labels.json")
    entries = json.loads((SAMPLES / "labels.json").read_text())
    path = tmp_path / "Data_Entry_2017.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Image Index", "Finding Labels", "Follow-up #", "Patient ID"])
        for name, entry in entries.items():
            if entry.get("finding_labels"):
                writer.writerow([name, entry["finding_labels"], "0", "1"])
    return path, {name: e["finding_labels"] for name, e in entries.items()
                  if e.get("finding_labels")}


def test_it_writes_the_report_of_the_samples(model_server, nih_labels, tmp_path, capsys):
    labels_path, finding_labels = nih_labels
    output = tmp_path / "report"
    call_command("evaluate", labels=str(labels_path), images=str(SAMPLES), output=str(output))

    report = json.loads((output / "report.json").read_text())
    assert report["studies"] == len(finding_labels) == 7
    by_finding = {f["finding"]: f for f in report["findings"]}
    assert by_finding["Cardiomegaly"]["positives"] == 2
    assert by_finding["Hernia"]["not_computable"] == "no positives"
    assert by_finding["Hernia"]["auroc"] is None
    # The same scores asked again through `manage.py diagnose` give the same AUROC.
    capsys.readouterr()
    names = sorted(finding_labels)
    call_command("diagnose", *[str(SAMPLES / name) for name in names], as_json=True)
    scores = json.loads(capsys.readouterr().out)
    for finding in ("Cardiomegaly", "Effusion"):
        labels = [int(finding in finding_labels[name].split("|")) for name in names]
        expected = roc_auc_score(labels, [scores[str(SAMPLES / n)][finding] for n in names])
        assert by_finding[finding]["auroc"] == pytest.approx(expected, abs=1e-6)
    cardiomegaly = by_finding["Cardiomegaly"]
    assert cardiomegaly["auroc_ci"][0] <= cardiomegaly["auroc"] <= cardiomegaly["auroc_ci"][1]
    aurocs = [f["auroc"] for f in report["findings"] if f["auroc"] is not None]
    assert report["mean_auroc"] == pytest.approx(np.mean(aurocs))
    assert report["weights_verified"] is False
    assert "random weights" in report["note"]
    assert [p["mean_auroc"] for p in report["published"]] == [v for _, v in PUBLISHED_MEAN_AUROC]

    page = (output / "report.html").read_text()
    assert "random weights" in page and "0.841" in page and "0.847" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "no positives" in page
    assert (output / "roc.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "Cardiomegaly" in (output / "roc.svg").read_text()


def test_it_reads_the_samples_labels_json_and_a_plain_csv_alike(model_server, tmp_path):
    skip_without(SAMPLES / "labels.json")
    call_command("evaluate", labels=str(SAMPLES / "labels.json"), images=str(SAMPLES),
                 output=str(tmp_path / "json"))
    plain = tmp_path / "labels.csv"
    plain.write_text("image,finding,label\n" + "".join(
        f"{name},Cardiomegaly,{int(name in ('nih_00000075_000.png', 'nih_00000001_000.png'))}\n"
        for name in ("nih_00000075_000.png", "nih_00000001_000.png", "nih_00000129_000.png",
                     "nih512_00027426_000.png")))
    call_command("evaluate", labels=str(plain), images=str(SAMPLES),
                 output=str(tmp_path / "plain"))
    from_json = json.loads((tmp_path / "json" / "report.json").read_text())
    from_plain = json.loads((tmp_path / "plain" / "report.json").read_text())
    assert from_plain["studies"] == 4 and from_json["studies"] == 7
    cardiomegaly = {f["finding"]: f for f in from_plain["findings"]}["Cardiomegaly"]
    assert (cardiomegaly["count"], cardiomegaly["positives"]) == (4, 2)
    assert {f["finding"]: f for f in from_plain["findings"]}["Mass"]["not_computable"] == \
        "no studies"


def test_an_unknown_finding_is_refused_with_its_line(tmp_path):
    labels = tmp_path / "Data_Entry_2017.csv"
    labels.write_text("Image Index,Finding Labels\nx.png,Cardiomegaly|Broken Heart\n")
    with pytest.raises(CommandError, match="line 2: unknown finding Broken Heart"):
        call_command("evaluate", labels=str(labels), images=str(tmp_path))


def test_images_outside_the_folder_are_not_read(model_server, tmp_path):
    skip_without(SAMPLES / "labels.json")
    labels = tmp_path / "labels.csv"
    labels.write_text(f"image,finding,label\n{SAMPLES / 'nih_00000001_000.png'},Mass,1\n"
                      "../nih_00000001_000.png,Mass,0\n")
    (tmp_path / "images").mkdir()
    with pytest.raises(CommandError, match="no labelled image could be read"):
        call_command("evaluate", labels=str(labels), images=str(tmp_path / "images"))
