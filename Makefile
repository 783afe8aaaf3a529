# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint migrate seed bench bench-load clean browser fuzz load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/python -m app.seed

# Forwarded headers are believed from FORWARDED_ALLOW_IPS only (create_app), never by uvicorn.
run: seed
	$(BIN)/uvicorn app.main:create_app --factory --host 127.0.0.1 --port 8000 --no-proxy-headers

# The production server: DATABASE_URL required (no SQLite default), WEB_CONCURRENCY
# workers on HOST:PORT, uvloop + httptools. No migration, no seeding.
serve: $(STAMP)
	$(BIN)/python -m app.serve

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/mypy app bench

# Debian's chromium for the web client's tests (Playwright never downloads a browser),
# and a Japanese font so the screenshots under test-output/web/ are legible.
# When it cannot be installed the browser tests skip, saying why; REQUIRE_BROWSER=1 fails.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/ipafont-gothic ]; then \
		(apt-get update && apt-get install -y chromium fonts-ipafont-gothic) \
		|| echo "chromium could not be installed: the browser tests in tests/web will skip"; \
	fi

test: $(STAMP) lint browser
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# The schemathesis API fuzzing alone; `make test` runs it too, as part of the suite.
fuzz: $(STAMP)
	$(BIN)/pytest -q tests/fuzz

# create+submit under wrk next to a bare insert app on the same server stack (minutes).
bench-load: $(STAMP)
	$(BIN)/python -m bench.load.throughput

# Load and crash checks on PostgreSQL (minutes each, so not part of `make test`).
load: $(STAMP)
	$(BIN)/python -m bench.load.submissions
	$(BIN)/python -m bench.load.crash

clean:
	rm -rf $(VENV) madoguchi.db .pytest_cache .mypy_cache .ruff_cache
