"""CheXNet inference: checkpoint loading, ONNX export, preprocessing, GraphPipe client and server.

Nothing in this package imports Django; the serving path (preprocessing, client, server) never
imports torch.
"""
