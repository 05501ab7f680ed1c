# WeGO Voting. `make run` serves the demo; `make test` runs ruff and the test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test lint serve serve-stop bench bench-full clean-instance translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/voting init
	$(BIN)/voting demo --if-empty
	@echo ""
	@echo "Serving http://$(HOST):$(PORT)/ . Staff sign in at http://$(HOST):$(PORT)/login"
	@echo "(lost the one-time passwords? run: $(BIN)/voting staff reset-password secretariat)"
	@echo ""
	$(BIN)/voting run --host $(HOST) --port $(PORT)

# gunicorn on PostgreSQL (VOTING_DATABASE_URL, or a local cluster in instance/pg): docs/deploy.md.
# WORKERS, HOST and PORT (8000) come from the environment or the command line: make serve PORT=9000
serve: $(VENV)/.installed
	scripts/serve.sh

serve-stop:
	scripts/serve.sh stop

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: $(VENV)/.installed lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

# Quick versions of every benchmark; `make bench-full` runs the long load and crash runs (~25 min).
bench: $(VENV)/.installed
	$(BIN)/python bench/tally.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/cast.py
	$(BIN)/python bench/secret.py --members 100 --rounds 2
	$(BIN)/python bench/load.py --quick
	$(BIN)/python bench/crash.py --quick

bench-full: $(VENV)/.installed
	$(BIN)/python bench/load.py --database both
	$(BIN)/python bench/crash.py
	$(BIN)/python bench/crash.py --database postgres

# The delegate pages' languages (docs/translations.md): extract the marked messages, merge them into
# each language's .po (new ones come empty, changed ones fuzzy: translate those), compile the .mo files.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k T -k P:1,2 --no-wrap --sort-by-file --project "WeGO Voting" \
		--copyright-holder "WeGO" -o voting/translations/messages.pot .
	$(BIN)/pybabel update -i voting/translations/messages.pot -d voting/translations --no-wrap --previous
	$(BIN)/pybabel compile -d voting/translations --statistics
