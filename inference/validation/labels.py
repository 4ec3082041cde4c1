"""Reading ground-truth labels for `manage.py evaluate`, in three layouts:

- NIH ChestX-ray14's `Data_Entry_2017.csv`: columns `Image Index` and `Finding Labels`, the
  findings of an image joined by `|`, or `No Finding`; every finding not named is a negative.
- a plain CSV `image,finding,label` (label 0 or 1; that header row optional): only the findings
  named for an image are labelled.
- the shared samples' `labels.json`: file name -> {"finding_labels": "A|B" or "No Finding"};
  an entry without finding_labels is left out.

Returns image file name -> {finding: 0 or 1}. A label that cannot be read is refused with the
line it is on (LabelsError), never guessed.
"""

import csv
import io
import json

from inference.findings import FINDINGS

NO_FINDING = "No Finding"


class LabelsError(ValueError):
    pass


def read_labels(name: str, text: str) -> dict[str, dict[str, int]]:
    if name.lower().endswith(".json"):
        return _samples_json(text)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise LabelsError("the labels file is empty")
    header = [cell.strip() for cell in rows[0]]
    if "Image Index" in header and "Finding Labels" in header:
        return _nih(header, rows[1:])
    return _plain(rows)


def _nih(header: list[str], rows: list[list[str]]) -> dict[str, dict[str, int]]:
    image_column, labels_column = header.index("Image Index"), header.index("Finding Labels")
    labels = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(image_column, labels_column):
            raise LabelsError(f"line {line}: fewer columns than the header")
        labels[row[image_column].strip()] = _finding_labels(row[labels_column], f"line {line}")
    return labels


def _finding_labels(text: str, where: str) -> dict[str, int]:
    named = {part.strip() for part in text.split("|") if part.strip()}
    if named == {NO_FINDING}:
        named = set()
    unknown = sorted(named - set(FINDINGS))
    if unknown or not text.strip():
        raise LabelsError(f"{where}: unknown finding {', '.join(unknown) or '(empty)'}; "
                          f"the findings are {', '.join(FINDINGS)} or {NO_FINDING}")
    return {name: int(name in named) for name in FINDINGS}


def _plain(rows: list[list[str]]) -> dict[str, dict[str, int]]:
    labels: dict[str, dict[str, int]] = {}
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if line == 1 and [cell.lower() for cell in cells] == ["image", "finding", "label"]:
            continue  # the header row
        if len(cells) != 3:
            raise LabelsError(f"line {line}: expected image,finding,label (0 or 1)")
        image, finding, label = cells
        if finding not in FINDINGS:
            raise LabelsError(f"line {line}: unknown finding {finding!r}")
        if label not in ("0", "1"):
            raise LabelsError(f"line {line}: the label must be 0 or 1, not {label!r}")
        labels.setdefault(image, {})[finding] = int(label)
    return labels


def _samples_json(text: str) -> dict[str, dict[str, int]]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise LabelsError(f"not JSON: {error}") from None
    if not isinstance(entries, dict):
        raise LabelsError("expected an object of file name -> {\"finding_labels\": ...}")
    labels = {}
    for image, entry in entries.items():
        if not isinstance(entry, dict):
            raise LabelsError(f"{image}: expected an object with finding_labels")
        text_labels = entry.get("finding_labels")
        if text_labels is None:
            continue  # an image without ChestX-ray14 labels (another data set's)
        if not isinstance(text_labels, str):
            raise LabelsError(f"{image}: no finding_labels text")
        labels[image] = _finding_labels(text_labels, image)
    return labels
