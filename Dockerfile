# Two images from one file:
#   exporter: torch + torchvision, turns a CheXNet checkpoint into the ONNX model (run once).
#   app:      web server, Celery worker and GraphPipe model server; no torch.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --create-home --uid 1000 chexweb

FROM base AS exporter
COPY requirements.txt requirements-model.txt ./
RUN pip install --no-cache-dir -r requirements-model.txt
COPY inference ./inference
USER chexweb
# Published weights are fetched on the user's machine and verified by git blob id.
CMD ["sh", "-c", "test -f /models/model.pth.tar || python -m inference.weights fetch /models/model.pth.tar; test -f /models/chexnet.onnx || python -m inference.export --checkpoint /models/model.pth.tar --output /models/chexnet.onnx"]

FROM base AS app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN CHEXWEB_VAR_DIR=/tmp/collect python manage.py collectstatic --noinput && \
    mkdir -p /var/lib/chexweb && chown chexweb /var/lib/chexweb
USER chexweb
ENV CHEXWEB_VAR_DIR=/var/lib/chexweb
