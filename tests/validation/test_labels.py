"""Reading labels: the NIH Data_Entry_2017 layout, a plain image,finding,label CSV and the
samples' labels.json; anything else is refused with where it is, never guessed."""

import pytest

from inference.findings import FINDINGS
from inference.validation.labels import LabelsError, read_labels

NIH = ("Image Index,Finding Labels,Follow-up #,Patient ID\n"
       "00000001_000.png,Cardiomegaly|Effusion,0,1\n"
       "00000002_000.png,No Finding,0,2\n")


def test_the_nih_layout_labels_every_finding():
    labels = read_labels("Data_Entry_2017.csv", NIH)
    assert labels["00000001_000.png"]["Cardiomegaly"] == 1
    assert labels["00000001_000.png"]["Effusion"] == 1
    assert sum(labels["00000001_000.png"].values()) == 2
    assert set(labels["00000002_000.png"]) == set(FINDINGS)
    assert sum(labels["00000002_000.png"].values()) == 0


def test_the_plain_layout_labels_only_the_named_findings():
    labels = read_labels("labels.csv", "a.png,Mass,1\na.png,Nodule,0\nb.png,Mass,0\n")
    assert labels == {"a.png": {"Mass": 1, "Nodule": 0}, "b.png": {"Mass": 0}}


@pytest.mark.parametrize("name, text, message", [
    ("x.csv", "", "empty"),
    ("x.csv", "a.png,Mass,2\n", "line 1: the label must be 0 or 1"),
    ("x.csv", "image,finding,label\na.png,Tumour,1\n", "line 2: unknown finding"),
    ("x.csv", "a.png,Mass\n", "line 1: expected image,finding,label"),
    ("x.csv", "Image Index,Finding Labels\na.png,\n", "line 2: unknown finding (empty)"),
    ("x.csv", "Image Index,Finding Labels\na.png\n", "line 2: fewer columns"),
    ("x.json", "[1, 2]", "expected an object"),
    ("x.json", "{", "not JSON"),
    ("x.json", '{"a.png": {"finding_labels": 3}}', "a.png: no finding_labels text"),
])
def test_unreadable_labels_are_refused_with_where(name, text, message):
    with pytest.raises(LabelsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_labels(name, text)


def test_json_entries_without_chestxray14_labels_are_left_out():
    labels = read_labels("labels.json", '{"a.png": {"finding_labels": "Hernia"}, '
                                        '"b.dcm": {"dataset": "other"}}')
    assert list(labels) == ["a.png"] and labels["a.png"]["Hernia"] == 1
