"""CheXNet inference, without Django: four packages and the worker's path through them.

- `model`: the network, checkpoints, weights and the ONNX export (torch; offline only).
- `imaging`: an upload -> the model's input, plausibility warnings, heatmaps (Pillow, NumPy, pydicom).
- `graphpipe`: the GraphPipe protocol: schema, generated flatbuffers, wire format, client.
- `server`: the GraphPipe model server on ONNX Runtime (`python -m inference.server`).
`findings`, `identity` and `pipeline` (one image through the model) sit beside them.
The layers are contracts in `.importlinter`, checked by `make test`.
"""
