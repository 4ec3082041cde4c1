"""The image budget: what an upload may cost is decided from its header, before decoding."""

import json
import subprocess
import sys
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from inference.imaging.budget import ImageBudget, ImageOverBudget
from inference.imaging.preprocessing import ImageError
from inference.imaging.study_image import read_study_image
from tests.security.hostile_images import hostile_images, voi_lut_disagreeing_with_data
from tests.processes import REPO

BUDGET = ImageBudget()


@pytest.mark.parametrize(("width", "height", "words"), [
    (1, 65500, "too thin to be a radiograph: 1x65500 pixels"),
    (65535, 1, "too thin"),
    (1000, 4001, "at most 4 times"),
    (16385, 16385, "the limit is 16,384 pixels a side"),
    (8000, 8000, "8000x8000 = 64,000,000 pixels"),
])
def test_a_shape_over_the_budget_is_refused_naming_the_limit(width, height, words):
    with pytest.raises(ImageOverBudget, match=words):
        BUDGET.check(width, height)


def test_the_decoded_and_the_resized_sizes_are_bounded_too():
    with pytest.raises(ImageOverBudget, match=r"5000x5000 pixels of 24 bytes = 572 MiB decoded"):
        BUDGET.check(5000, 5000, samples=3, bytes_per_sample=8)
    with pytest.raises(ImageOverBudget, match=r"would become 256x1280"):
        ImageBudget(max_aspect_ratio=6).check(1000, 5000)


def test_a_radiograph_shape_is_within_the_budget():
    for width, height in [(3000, 3000), (2500, 3052), (4280, 3520), (1024, 4000), (8, 8)]:
        BUDGET.check(width, height, samples=1, bytes_per_sample=8)


def test_a_few_pixels_are_refused_as_too_small_not_as_too_large():
    with pytest.raises(ImageError, match="too small to be a radiograph: 4x5") as refused:
        BUDGET.check(4, 5)
    assert not isinstance(refused.value, ImageOverBudget)


def test_a_voi_lut_disagreeing_with_its_data_falls_back_to_the_data_range():
    study = read_study_image(voi_lut_disagreeing_with_data())

    assert study.format == "DICOM" and np.asarray(study.image).max() == 255


# Each hostile image decoded in a fresh process limited to 1 GiB of address space: refused, and
# the process's peak memory stays near what importing the decoders costs. (VmHWM, its own peak:
# ru_maxrss would carry the peak of the process that started it.)
_DECODE_ALL = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from inference.imaging.study_image import read_study_image
from inference.imaging.preprocessing import ImageError
answers = {}
for path in sys.argv[1:]:
    try:
        read_study_image(open(path, "rb").read())
        answers[path] = ["accepted", ""]
    except ImageError as error:
        answers[path] = [type(error).__name__, str(error)]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
answers["peak_mb"] = int(status["VmHWM"].split()[0]) // 1024
print(json.dumps(answers))
"""


def test_hostile_images_are_refused_from_their_headers_within_a_small_memory_bound(tmp_path):
    paths = {}
    for hostile in hostile_images():
        paths[hostile.name] = tmp_path / hostile.name
        paths[hostile.name].write_bytes(hostile.content)

    result = subprocess.run([sys.executable, "-c", _DECODE_ALL, *map(str, paths.values())],
                            cwd=REPO, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-2000:]
    answers = json.loads(result.stdout)
    for hostile in hostile_images():
        kind, message = answers[str(paths[hostile.name])]
        assert kind != "accepted" and hostile.refusal in message, (hostile.name, message)
    assert answers["peak_mb"] < 250


def test_a_png_with_a_broken_checksum_is_named_corrupt_not_unknown():
    broken = next(h for h in hostile_images() if h.name == "broken-crc.png")
    with pytest.raises(ImageError, match="corrupt PNG header"):
        read_study_image(broken.content)


def test_an_accepted_format_is_checked_before_decoding():
    output = BytesIO()
    Image.new("L", (300, 300)).save(output, format="GIF")
    with pytest.raises(ImageError, match="GIF images are not accepted"):
        read_study_image(output.getvalue())
