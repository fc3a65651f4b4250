# Quick start: `make demo` (set up and run a short real job), `make test` (set up and run the tests).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-slow bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first (a local wheel here); the project then sees torch as satisfied.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[generative,dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/simdiff demo --out demo_output
	$(VENV)/bin/simdiff generate --n 64 --guidance 2 --out demo_output/digits.png --trajectory demo_output/denoise.gif

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	# exit code 5 means "no slow test collected": not a failure
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]

bench: $(STAMP)
	# torchsde alone, --no-deps: `pip install '.[bench]'` would replace the editable install of
	# simdiff with a copy, and torchsde's own dependencies (torch, scipy, numpy) are already here.
	$(PY) -m pip install -q --no-deps 'torchsde>=0.2.6' trampoline || true
	$(PY) -m pip install -q --no-deps py-pde sympy mpmath || true
	$(PY) -m pip install -q --no-deps fbm stochastic andi-datasets || true
	# diffusers (bench_samplers uses its schedulers) and what it imports at runtime, --no-deps like
	# the others: huggingface-hub's declared extras (hf-xet, ...) are not needed, numpy stays as it is.
	$(PY) -m pip install -q --no-deps diffusers safetensors 'huggingface-hub>=1.32' httpx2 httpcore2 h11 anyio \
		sniffio idna certifi truststore pyyaml regex requests urllib3 charset-normalizer filelock \
		importlib-metadata zipp pillow || true
	$(PY) benchmarks/bench_sde.py
	$(PY) benchmarks/bench_pde.py
	$(PY) benchmarks/bench_rd.py
	$(PY) benchmarks/bench_particles.py
	$(PY) benchmarks/bench_samplers.py
	$(PY) benchmarks/bench_generate.py --quick

clean:
	rm -rf $(VENV) demo_output .pytest_cache
