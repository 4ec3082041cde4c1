"""Images: an upload (PNG, JPEG, DICOM) -> the model's input, plausibility warnings, heatmaps.

Pillow, NumPy and pydicom only: imports neither torch, ONNX Runtime, Django nor the other packages.
"""
