# Entry points: `make demo`, `make test` (everything) and `make test-fast` (the unit
# tier, after each edit); `make lint`. All create or reuse .venv. CONTRIBUTING.md says
# which to run when.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Bytecode is written (some environments turn it off): pytest keeps the rewritten test
# modules, and every Code Puppy the tests start finds this package compiled.
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist workers for both tiers (the machine has 2 cores).
TEST_WORKERS ?= 2
# The unit tier: no Code Puppy, no browser, no keyring daemon, no other process at all
# (conftest fails a test that starts one unmarked).
FAST_TIER := not (host or browser or keyring or multiprocess or machine or subprocess)

# The oldest Code Puppy the plugin supports (the first that loads entry-point
# plugins). `make test` also runs the in-host tests against it, in its own venv.
OLDEST_CODE_PUPPY := 0.0.716
OLD_VENV  := .venv-cp-oldest
OLD_STAMP := $(OLD_VENV)/.installed-$(OLDEST_CODE_PUPPY)

# A release whose fresh install cannot serve any Anthropic model: 0.0.721-0.0.749
# declare anthropic>=0.108.0 with no upper bound beside pydantic-ai-slim 2.31.0, so
# pip installs an anthropic SDK that pydantic-ai cannot drive. Installed as a user
# would (code-puppy, then this project); `make test` runs on it only the few tests
# that show what its user sees (tests/hosts/code_puppy/test_host_stack_in_puppy.py).
MISMATCHED_CODE_PUPPY := 0.0.733
MISMATCHED_VENV  := .venv-cp-mismatched
MISMATCHED_STAMP := $(MISMATCHED_VENV)/.installed-$(MISMATCHED_CODE_PUPPY)

.PHONY: demo test test-fast lint bench chromium keyring-daemon clean mutate

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

$(OLD_STAMP): pyproject.toml
	@test -x $(OLD_VENV)/bin/python || $(PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLD_VENV)/bin/python -m pip install -q -e . 'code-puppy==$(OLDEST_CODE_PUPPY)'
	@rm -f $(OLD_VENV)/.installed-*
	@touch $(OLD_STAMP)

$(MISMATCHED_STAMP): pyproject.toml
	@test -x $(MISMATCHED_VENV)/bin/python || $(PYTHON) -m venv $(MISMATCHED_VENV)
	$(MISMATCHED_VENV)/bin/python -m pip install -q --upgrade pip
	$(MISMATCHED_VENV)/bin/python -m pip install -q 'code-puppy==$(MISMATCHED_CODE_PUPPY)'
	$(MISMATCHED_VENV)/bin/python -m pip install -q -e .
	@# The fix our one-line answer names, kept beside the venv, not in it: a test puts
	@# it on PYTHONPATH to show the same Code Puppy serving requests once it is applied.
	$(MISMATCHED_VENV)/bin/python -m pip install -q --no-deps --upgrade \
	  --target $(MISMATCHED_VENV)/anthropic-fix 'anthropic<1'
	@rm -f $(MISMATCHED_VENV)/.installed-*
	@touch $(MISMATCHED_STAMP)

# Debian's chromium for the real-browser login test, installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium (needed by the browser test)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# Debian's dbus-daemon and gnome-keyring for the Secret Service tests (a private bus and
# keyring daemon per test session), installed when missing. Without a desktop nothing
# else of GNOME is needed.
keyring-daemon:
	@command -v dbus-daemon >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1 || { \
	  echo "installing Debian's dbus-daemon and gnome-keyring (needed by the keyring tests)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
	    --no-install-recommends dbus-daemon gnome-keyring; }

demo: $(STAMP)
	$(BIN)/python -m claude_code_oauth.testing.demo

# The whole output is kept and scanned: no token may ever appear in it (the
# tests' own scan covers what each test captures; this covers everything else).
# The in-host tests (tests/hosts/code_puppy) run once per Code Puppy listed in
# CLAUDE_CODE_OAUTH_TEST_CODE_PUPPY_VENVS: the newest (.venv) and the oldest supported;
# the few that need it, also in CLAUDE_CODE_OAUTH_TEST_MISMATCHED_CODE_PUPPY_VENV.
test: $(STAMP) $(OLD_STAMP) $(MISMATCHED_STAMP) chromium keyring-daemon lint
	set -o pipefail; CLAUDE_CODE_OAUTH_REQUIRE_CHROMIUM=1 \
	  CLAUDE_CODE_OAUTH_TEST_CODE_PUPPY_VENVS=$(VENV):$(OLD_VENV) \
	  CLAUDE_CODE_OAUTH_TEST_MISMATCHED_CODE_PUPPY_VENV=$(MISMATCHED_VENV) \
	  $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=15 2>&1 | tee .test-output.log
	@if grep -qE 'sk-ant-(o[ar]t01|api03)-[A-Za-z0-9_-]{6,}' .test-output.log; then \
	  echo "SECRET SCAN: a token appeared in the test output (.test-output.log)"; exit 1; \
	else echo "secret scan of the test output: clean"; fi

# The loop after each edit: the unit tier, in parallel (about a minute; see CONTRIBUTING.md).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -q -m "$(FAST_TIER)"

# ruff, then strict type checking (mypy's configuration is in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy

# Mutation testing, not part of `make test` (docs/mutation.md): mutmut mutates account/,
# tokens/, net/, profiles/ and storage/ ([tool.mutmut] in pyproject.toml), runs the tests
# of the unit tier that reach each mutated function, then tools/mutation_score.py prints the
# score per module and fails below 95 % or on a survivor docs/mutation.md does not
# explain. A whole run starts afresh; `make mutate MUTATE=account.unified_limits` reruns
# one module's mutants and keeps the other results. At most MUTATE_WORKERS at once.
MUTATE_WORKERS ?= 3
MUT_STAMP := $(VENV)/.installed-mutation

$(MUT_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,mutation]'
	@touch $(MUT_STAMP)

mutate: $(MUT_STAMP)
	@if [ -z "$(MUTATE)" ]; then rm -rf mutants; fi
	@mkdir -p mutants; start=$$(date +%s); \
	  echo "mutmut run (log: mutants/mutmut-run.log) ..."; \
	  $(BIN)/mutmut run --max-children $(MUTATE_WORKERS) \
	    $(if $(MUTATE),'claude_code_oauth.$(MUTATE).*') > mutants/mutmut-run.log 2>&1; \
	  rc=$$?; echo "mutmut run: exit $$rc after $$(( $$(date +%s) - start )) s"; \
	  if [ $$rc -ne 0 ]; then tail -n 30 mutants/mutmut-run.log; exit $$rc; fi
	$(BIN)/python tools/mutation_score.py

BENCHMARKS := login refresh_race token_fast_path keyring_read profile_resolution model_overhead registry_scale plugin_import oversized_inputs host_stack chaos_refresh

bench: $(STAMP) keyring-daemon
	@for b in $(BENCHMARKS); do echo "== benchmarks/$$b.py"; $(BIN)/python benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) $(OLD_VENV) $(MISMATCHED_VENV) .pytest_cache .mypy_cache build src/*.egg-info mutants
