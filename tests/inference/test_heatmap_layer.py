"""The transparent heat layer the result page lays over the X-ray."""

import numpy as np

from inference.imaging.heatmaps import cam_box, heatmap_layer


def test_the_layer_is_transparent_outside_the_crop_and_hot_where_the_map_is():
    cam = np.zeros((7, 7))
    cam[3, 3] = 1.0  # the centre cell
    layer = np.asarray(heatmap_layer((1024, 1024), cam, max_side=512))
    assert layer.shape == (512, 512, 4)
    left, top, right, bottom = (round(v / 2) for v in cam_box(1024, 1024))
    assert layer[:top, :, 3].max() == 0 and layer[bottom:, :, 3].max() == 0
    assert layer[:, :left, 3].max() == 0 and layer[:, right:, 3].max() == 0
    hottest = np.unravel_index(np.argmax(layer[..., 3]), layer.shape[:2])
    assert abs(hottest[0] - 256) < 20 and abs(hottest[1] - 256) < 20


def test_the_layer_keeps_the_aspect_of_a_non_square_image():
    layer = heatmap_layer((2000, 1000), np.random.default_rng(0).random((7, 7)), max_side=1000)
    assert layer.size == (1000, 500) and layer.mode == "RGBA"
