# Two commands do all the set-up: `make run` (the whole product) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_STANDIN := ../shared/models/chexnet-standin.pth.tar
PUBLISHED_CHECKPOINT := models/model.pth.tar
CHEXNET_CHECKPOINT ?= $(if $(wildcard $(SHARED_STANDIN)),$(SHARED_STANDIN),$(PUBLISHED_CHECKPOINT))
CHEXNET_ONNX ?= models/$(subst .pth.tar,,$(notdir $(CHEXNET_CHECKPOINT))).onnx
export CHEXNET_CHECKPOINT CHEXNET_ONNX

.PHONY: run test venv model migrate system-packages static-vendor clean

venv: $(BIN)/.installed

$(BIN)/.installed: requirements.txt requirements-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-model.txt
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed requirements-test.txt
	$(BIN)/pip install --quiet -r requirements-test.txt
	# The official GraphPipe client, for conformance tests only: its own pins are broken.
	$(BIN)/pip install --quiet --no-deps graphpipe==1.0.4
	touch $@

# The published weights are fetched only when asked for, and verified by their git blob id.
$(PUBLISHED_CHECKPOINT): | venv
	$(BIN)/python -m inference.model.weights fetch $@

$(CHEXNET_ONNX): $(CHEXNET_CHECKPOINT) | venv
	$(BIN)/python -m inference.model.export --checkpoint $(CHEXNET_CHECKPOINT) --output $@

model: $(CHEXNET_ONNX)

# The browser libraries (package.json, package-lock.json), served from our own static files: the
# image viewer is dwv, bundled with its dependencies into one ES module, its decoders beside it.
VIEWER_VENDOR := diagnoses/static/diagnoses/vendor/dwv
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
static-vendor: $(VIEWER_VENDOR)/dwv.js
$(VIEWER_VENDOR)/dwv.js: node_modules/.package-lock.json scripts/build_static_vendor.sh
	scripts/build_static_vendor.sh

migrate: venv
	$(BIN)/python manage.py migrate --noinput

# Every Procfile line under supervisord (scripts/supervise.py): one that dies is started again.
run: venv model migrate static-vendor
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py ensure_demo_user
	$(BIN)/python scripts/ensure_redis.py
	@# The login again once the processes' start-up banners are out (same password every start).
	@( sleep $${CHEXWEB_DEMO_LOGIN_DELAY_S:-20}; $(BIN)/python manage.py ensure_demo_user --print-only ) &
	PATH="$(abspath $(BIN)):$$PATH" \
	  CHEXWEB_DICOM_PEERS="$${CHEXWEB_DICOM_PEERS-STORESCU@127.0.0.1:104,ORTHANC@127.0.0.1:4242}" \
	  $(BIN)/python scripts/supervise.py Procfile

# Debian's Chromium for the browser tests, npm for the viewer's library, Orthanc (a real PACS),
# dcmtk and dicom3tools for the DICOM tests: only those missing (CI runs as root; elsewhere the
# script says what to install).
system-packages:
	scripts/install_system_packages.sh

# The whole suite on SQLite, then the tests that use the database again on PostgreSQL, in a test
# database of this run's own (pytest-django creates and drops it). No PostgreSQL answering: the
# second pass is skipped with a line saying so, except in CI (CI=true), where that fails.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# The DICOM tests in process (intake, results, STOW, deliveries) too, not those of the `node`
# fixture: its listener and worker processes keep a SQLite file of their own, as the system
# tests' processes do.
DICOM_NODE_TESTS := tests/dicom/test_pacs.py tests/dicom/test_listener_killed.py
POSTGRES_TEST_DIRS := $(wildcard tests/diagnoses tests/web tests/admin tests/api tests/security \
  tests/deployment) $(filter-out $(DICOM_NODE_TESTS),$(wildcard tests/dicom/test_*.py))

test: $(BIN)/.installed-test system-packages static-vendor
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if $(BIN)/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=5).close()' \
	    "$(TEST_POSTGRES_URL)" 2>/dev/null; then \
	  echo "PostgreSQL pass: $(POSTGRES_TEST_DIRS) on $(TEST_POSTGRES_URL)"; \
	  PATH="$(abspath $(BIN)):$$PATH" DATABASE_URL="$(TEST_POSTGRES_URL)" \
	    CHEXWEB_TEST_DATABASE_NAME="test_chexweb_$$$$" $(BIN)/python -m pytest $(POSTGRES_TEST_DIRS); \
	elif [ "$${CI:-}" = true ]; then \
	  echo "PostgreSQL pass FAILED: no PostgreSQL answers at $(TEST_POSTGRES_URL), and CI requires it" >&2; \
	  exit 1; \
	else \
	  echo "PostgreSQL pass SKIPPED: no PostgreSQL answers at $(TEST_POSTGRES_URL) (set TEST_POSTGRES_URL)"; \
	fi

clean:
	rm -rf build models var test-artifacts node_modules $(VIEWER_VENDOR)
