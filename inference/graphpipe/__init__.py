"""The GraphPipe protocol: schema, generated flatbuffers, the checked wire format, the HTTP client.

NumPy, flatbuffers and requests only: imports neither torch, ONNX Runtime, Django nor `model`.
"""
