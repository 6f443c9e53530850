# Set-up is implicit: every target below creates .venv on first use.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
# CPU build of torch where no GPU is present (a plain `torch` pulls a multi-GB CUDA build).
TORCH   ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && echo "torch>=2.4" || echo "torch==2.13.0")
ARGS    ?=

.PHONY: setup train test lint bench clean

$(BIN)/gridrl: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev,sweeps,envs]" "$(TORCH)"
	@touch $@

setup: $(BIN)/gridrl

train: setup            ## train the default agent (overrides: make train ARGS="env=seed seed=1")
	$(BIN)/gridrl train $(ARGS)

test: setup             ## the whole suite, slow tests included (what CI runs)
	$(BIN)/python -m pytest -n 2 -q --durations=15 $(ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/game_speed.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .ruff_cache
