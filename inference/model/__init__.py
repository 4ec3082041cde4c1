"""The CheXNet model offline: network, checkpoint reading, published weights, provenance, ONNX export.

May import torch, `imaging` and `findings`; nothing on the serving path (web, worker, server) imports it.
"""
