"""What an untrusted upload may cost, decided from its header before a single pixel is decoded.

The pixel count alone does not bound the work: a 1 x 65,500 image has few pixels, but the resize to
a 256-pixel shorter side makes it 256 x 16.7 million. So every side, the aspect ratio, the decoded
size (pixels x samples x bytes per sample) and the size after the resize are bounded too. A chest
radiograph is at most a few thousand pixels a side and never far from square; the limits leave
room for large detectors and long-length images.
"""

from dataclasses import dataclass

from inference.imaging.preprocessing import RESIZE_SHORTER_SIDE, ImageError, resized_size

MAX_PIXELS = 50_000_000


class ImageOverBudget(ImageError):
    """The header asks for more than the budget allows: refused before decoding."""


@dataclass(frozen=True)
class ImageBudget:
    max_side: int = 16_384
    min_side: int = 8
    max_aspect_ratio: float = 4.0  # longer side / shorter side
    max_pixels: int = MAX_PIXELS
    max_decoded_bytes: int = 256 * 2**20
    max_resized_pixels: int = RESIZE_SHORTER_SIDE * RESIZE_SHORTER_SIDE * 4

    def check(
        self, width: int, height: int, *, samples: int = 1, bytes_per_sample: int = 1,
        frames: int = 1,
    ) -> None:
        """Refuse an image of this header: ImageError if it is too small to be a radiograph,
        ImageOverBudget naming the limit if decoding or resizing it would cost too much."""
        problem = self._over_budget(width, height, samples * bytes_per_sample, frames)
        if problem:
            raise ImageOverBudget(problem)
        if min(width, height) < self.min_side:
            raise ImageError(f"image too small to be a radiograph: {width}x{height} pixels, "
                             f"each side must be at least {self.min_side}")

    def _over_budget(self, width: int, height: int, bytes_per_pixel: int, frames: int) -> str:
        size = f"{width}x{height}"
        short, long = min(width, height), max(width, height)
        if short < 1 or long / short > self.max_aspect_ratio:
            return (f"image too thin to be a radiograph: {size} pixels, the longer side may be at "
                    f"most {self.max_aspect_ratio:g} times the shorter")
        if long > self.max_side:
            return (f"image too large to decode: {size} pixels, "
                    f"the limit is {self.max_side:,} pixels a side")
        pixels = width * height * frames
        if pixels > self.max_pixels:
            return (f"image too large to decode: {size} = {pixels:,} pixels, "
                    f"the limit is {self.max_pixels:,}")
        decoded = pixels * bytes_per_pixel
        if decoded > self.max_decoded_bytes:
            return (f"image too large to decode: {size} pixels of {bytes_per_pixel} bytes = "
                    f"{decoded / 2**20:,.0f} MiB decoded, "
                    f"the limit is {self.max_decoded_bytes / 2**20:,.0f} MiB")
        resized_width, resized_height = resized_size(width, height)
        if resized_width * resized_height > self.max_resized_pixels:
            return (f"image too large to resize: {size} pixels would become "
                    f"{resized_width}x{resized_height}")
        return ""


IMAGE_BUDGET = ImageBudget()
