# Quimbi: `make run` and `make test` are all a fresh machine needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

.PHONY: run install migrate seed serve test lint format worker bench fuzz loadtest clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo

run: seed
	$(MANAGE) runserver 127.0.0.1:8000

serve: install
	$(MANAGE) runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

worker: install
	$(BIN)/celery -A quimbi_site worker --beat --loglevel=INFO

bench: install
	$(BIN)/python bench/run_all.py

# A longer schemathesis run than the bounded one inside `make test`.
fuzz: install
	QUIMBI_FUZZ_EXAMPLES=$${QUIMBI_FUZZ_EXAMPLES:-200} $(BIN)/pytest quimbi_site/tests/test_api_fuzz.py

# locust against gunicorn on PostgreSQL + Redis; prints rates, latencies and the exactly-once check.
loadtest: install
	$(BIN)/python bench/loadtest.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
