# adtarget: the commands a newcomer and a contributor need. `make help` lists them.
PYTHON ?= python3
VENV   := var/venv
BIN    := $(VENV)/bin
STACK  := $(BIN)/adtarget-stack

.DEFAULT_GOAL := help
.PHONY: help demo setup up down status test test-unit check lint lint-sql types fmt lock bench compose-config clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## create var/venv from requirements.lock (Python 3.11+ and a JDK 17 needed)

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11+ is needed, found " + sys.version.split()[0])'
	@command -v java >/dev/null || [ -x "$$JAVA_HOME/bin/java" ] || { echo "error: no JDK found; install a JDK 17 (java on PATH or JAVA_HOME)"; exit 1; }
	@echo "setup: creating $(VENV) (first time: a few minutes)"
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	@$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

demo: setup ## the whole platform on embedded defaults: data, segments, daily pipeline, events, report mail
	@$(BIN)/python -m adtarget.demo $(DEMO_ARGS)

up: setup ## start every engine (Postgres, Cassandra, Kafka, SMTP, Spark Thrift, Airflow) and wait until healthy
	@$(STACK) up

down: ## stop every engine started by the project
	@[ ! -x $(STACK) ] || $(STACK) down

status: ## show each engine's state and endpoint
	@$(STACK) status

test: setup ## run the whole test suite (starts the engines it needs)
	@$(BIN)/pytest

test-unit: setup ## only the tests that need no engine
	@$(BIN)/pytest tests/unit

check: lint lint-sql types ## lint, check the SQL pipelines, type-check

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

lint-sql: setup ## validate the frontmatter of every SQL pipeline (file:line: field: message)
	@$(BIN)/adtarget-pipelines lint

types: setup
	@$(BIN)/mypy

fmt: setup ## format the code
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

lock: ## re-resolve requirements.txt into requirements.lock
	@$(BIN)/uv pip compile requirements.txt --override overrides.txt --python-version 3.11 -o requirements.lock

bench: setup ## run every benchmark under bench/ (writes bench/results/*.json)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

compose-config: ## validate docker-compose.yaml (needs the docker client)
	@docker compose -f docker-compose.yaml config --quiet && echo "docker-compose.yaml: valid"

clean: down ## stop everything and delete var/ (data, logs, venv, downloaded jars)
	rm -rf var
