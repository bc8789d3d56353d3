# The README's two commands: `make run` and `make test`. Both create and use .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
RUN_STAMP := $(VENV)/.run-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)
# torch==2.13.0 is the CPU build lying on this disk; a bare `torch` would pull a multi-GB CUDA build.

.PHONY: run test lint venv clean bench gallery

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.run-*
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,diffusion]'
	rm -f $(VENV)/.test-* $(VENV)/.run-*
	touch $@ $(RUN_STAMP)

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(BIN)/imagine-med run

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Each script prints a table; diffusion's is meant for a GPU machine (`--help` for a CPU smoke run).
bench: $(TEST_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/watermark.py
	$(BIN)/python bench/moderation.py

gallery: $(TEST_STAMP)
	$(BIN)/python -m imagine_med.engine.gallery docs/gallery

clean:
	rm -rf $(VENV) out .pytest_cache
