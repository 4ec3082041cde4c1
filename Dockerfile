# Two images from one file (the model server has its own: Dockerfile.model):
#   exporter: torch + torchvision, turns a CheXNet checkpoint into the ONNX model (run once).
#   app:      web server, Celery worker and beat; no torch.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --create-home --uid 1000 chexweb

FROM base AS exporter
COPY requirements.txt requirements-model.txt ./
RUN pip install --no-cache-dir -r requirements-model.txt
COPY inference ./inference
# A new `models` volume takes this directory's owner, so the export can write to it.
RUN mkdir /models && chown chexweb /models
USER chexweb
# Published weights are fetched on the user's machine and verified by git blob id.
CMD ["sh", "-c", "set -e; test -f /models/model.pth.tar || python -m inference.model.weights fetch /models/model.pth.tar; test -f /models/chexnet.onnx || python -m inference.model.export --checkpoint /models/model.pth.tar --output /models/chexnet.onnx"]

# The viewer's browser library, bundled from package-lock.json (scripts/build_static_vendor.sh).
FROM node:20-slim AS static
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/build_static_vendor.sh ./scripts/
RUN scripts/build_static_vendor.sh

FROM base AS app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=static /build/diagnoses/static/diagnoses/vendor ./diagnoses/static/diagnoses/vendor
# Static files where the app serves them from (WhiteNoise, compressed); the media directory
# owned by the app's user, as a new `media` volume will be.
ENV CHEXWEB_VAR_DIR=/var/lib/chexweb
RUN python manage.py collectstatic --noinput -v 0 && rm -f /var/lib/chexweb/chexweb.sqlite3* && \
    mkdir -p /var/lib/chexweb/media && chown -R chexweb /var/lib/chexweb
USER chexweb
