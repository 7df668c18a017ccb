# The README's two commands: `make demo` (the main job) and `make test` (the whole suite).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rugs-setup-done

.PHONY: setup demo test bench bench-env lint clean

$(STAMP): pyproject.toml scripts/setup.sh
	./scripts/setup.sh

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rugs demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) scripts/bench_prng.py

# gym-anytrading is the speed reference only: installed into the venv here, never a project dependency
bench-env: $(STAMP)
	$(VENV)/bin/pip install -q gym-anytrading
	$(PY) scripts/bench_env.py

lint: $(STAMP)
	$(VENV)/bin/ruff check rugs_env recorder tests scripts

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
