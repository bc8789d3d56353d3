# The README's commands: `make run`, `make test` (everything) and `make test-core` (no torch).
# Each creates and uses .venv; any Linux or macOS box with Python 3.11+ will do.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# cksum is POSIX (sha1sum is not on macOS): a new stamp whenever pyproject.toml changes
HASH := $(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-$(HASH)
CORE_STAMP := $(VENV)/.core-$(HASH)
TEST_STAMP := $(VENV)/.test-$(HASH)

# torch for the diffusion extra. PyPI's Linux wheel of torch is a CUDA build (about 3 GB of
# downloads, 5.5 GB installed); PyTorch's CPU index serves the same release as a ~190 MB wheel.
# So on Linux the CPU index is added, unless pip can already install torch from local files
# (a wheelhouse in pip's find-links, as on the CI machines; `pip --no-index` tells), or
# TORCH_INDEX is set (empty: plain PyPI, e.g. to get the CUDA build on a GPU box).
# macOS wheels on PyPI are CPU builds already.
TORCH_INDEX ?= $(shell [ "$$(uname -s)" = Linux ] && echo https://download.pytorch.org/whl/cpu)
TORCH_PIN := $(or $(shell sed -n 's/.*"\(torch==[^"]*\)".*/\1/p' pyproject.toml | head -1),torch)

.PHONY: run test test-core lint venv venv-core clean bench gallery

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	rm -f $(VENV)/.run-*
	touch $@

$(CORE_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,c2pa]'
	rm -f $(VENV)/.core-* $(VENV)/.run-*
	touch $@ $(RUN_STAMP)

$(TEST_STAMP): $(BIN)/python pyproject.toml
	@if [ -n "$(TORCH_INDEX)" ] && ! $(BIN)/pip install --quiet --dry-run --no-index --no-deps \
	    '$(TORCH_PIN)' >/dev/null 2>&1; then \
	  echo "torch: CPU build from $(TORCH_INDEX) (set TORCH_INDEX= for PyPI's default)"; \
	  $(BIN)/pip install --quiet --extra-index-url '$(TORCH_INDEX)' '$(TORCH_PIN)'; \
	fi
	$(BIN)/pip install --quiet -e '.[dev,c2pa,diffusion]'
	rm -f $(VENV)/.test-* $(VENV)/.core-* $(VENV)/.run-*
	touch $@ $(CORE_STAMP) $(RUN_STAMP)

venv: $(TEST_STAMP)

venv-core: $(CORE_STAMP)

run: $(RUN_STAMP)
	$(BIN)/imagine-med run

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# Everything but the diffusion engine: no torch (its tests skip, saying so).
test-core: $(CORE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs

# Each script prints a table; diffusion's is meant for a GPU machine (`--help` for a CPU smoke run).
bench: $(TEST_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/watermark.py
	$(BIN)/python bench/moderation.py

gallery: $(TEST_STAMP)
	$(BIN)/python -m imagine_med.engine.gallery docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_fundus docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_histo docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_skin docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_limb docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_limb_disease docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_knee_foot docs/gallery
	$(BIN)/python -m imagine_med.teaching.gallery docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_dental docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_axr docs/gallery
	$(BIN)/python -m imagine_med.engine.gallery_axial docs/gallery

clean:
	rm -rf $(VENV) out .pytest_cache
