# `make demo` and `make test` each set up .venv on first use (Python 3.11+ and pip are all they need).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
REPO   ?= examples/sample_repo
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LANCEDB_LOG := error

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

# torch goes first and alone, pinned, so that no later requirement can pull a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/sgmcp index $(REPO)
	$(BIN)/sgmcp definition $(REPO) NoteStore.save
	$(BIN)/sgmcp usages $(REPO) hash_password
	$(BIN)/sgmcp search $(REPO) "turn a markdown table into html rows" --k 3
	$(BIN)/sgmcp status $(REPO)

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(REPO)/.sgmcp
