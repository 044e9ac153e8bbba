# The two commands: `make demo` (embedded SQLite, in-process tasks) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/*.lock pyproject.toml | cksum | cut -d' ' -f1)
# The embedded quickstart ignores any DATABASE_URL / REDIS_URL from the environment.
EMBEDDED := env -u DATABASE_URL -u REDIS_URL DJANGO_DEBUG=true
PYTEST_SQLITE := tests/scoring tests/accounts tests/contacts tests/mqa tests/api/test_segments.py

.PHONY: install demo serve test lint bench chaos
install: $(STAMP)

$(STAMP): requirements/runtime.lock requirements/dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	rm -f $(VENV)/.installed-* && touch $@

demo: install
	$(EMBEDDED) $(BIN)/python manage.py migrate --verbosity 0
	$(EMBEDDED) $(BIN)/python manage.py seed_demo
	@echo
	$(EMBEDDED) $(BIN)/python manage.py demo_summary
	@echo
	@echo "Review pages: http://127.0.0.1:8000/review/   Admin: http://127.0.0.1:8000/admin/   (login demo / demo)"
	exec $(EMBEDDED) MQA_RESCORE_IN_SCHEDULER=true PATH="$(CURDIR)/$(BIN):$$PATH" \
	  $(BIN)/honcho start -f Procfile.demo

# Production: web (gunicorn), worker and beat in the foreground; Ctrl-C or SIGTERM stops all
# three. Needs DATABASE_URL, REDIS_URL and DJANGO_SECRET_KEY (docs/deploy.md).
serve: install
	@for v in DATABASE_URL REDIS_URL DJANGO_SECRET_KEY; do \
	  [ -n "$${!v}" ] || { echo "make serve: $$v is required (see docs/deploy.md)" >&2; exit 2; }; done
	rm -rf var/prometheus && mkdir -p var/prometheus
	DJANGO_DEBUG=false $(BIN)/python manage.py migrate --noinput --verbosity 0
	DJANGO_DEBUG=false $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	DJANGO_DEBUG=false MQA_LOG_FORMAT=$${MQA_LOG_FORMAT:-json} LOG_LEVEL=$${LOG_LEVEL:-INFO} \
	  PROMETHEUS_MULTIPROC_DIR="$(CURDIR)/var/prometheus" PATH="$(CURDIR)/$(BIN):$$PATH" \
	  exec $(BIN)/honcho start -f Procfile -p $${PORT:-8000}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(EMBEDDED) $(BIN)/python manage.py makemigrations --check --dry-run

test: install
	bash scripts/ensure_services.sh var/test-services.env
	$(MAKE) --no-print-directory lint
	set -a && . var/test-services.env && set +a && \
	  DATABASE_URL=$$TEST_DATABASE_URL MQA_REQUIRE_SERVICES=1 $(BIN)/pytest -q
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -q $(PYTEST_SQLITE)
	$(MAKE) --no-print-directory bench SCALE=0.01

# The benchmark (docs/benchmarks.md); SCALE=1.0 is 1M contacts and 10M events.
SCALE ?= 1.0
bench: install
	bash scripts/ensure_services.sh var/test-services.env
	set -a && . var/test-services.env && set +a && SCALE=$(SCALE) $(BIN)/python -m bench

# Real faults against the real stack on its own PostgreSQL and Redis (docs/reliability.md,
# which it writes); `make test` runs the short version (tests/chaos). About 15 minutes.
chaos: install
	bash scripts/ensure_services.sh var/test-services.env
	$(BIN)/python -m chaos
