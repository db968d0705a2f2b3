# Two commands on a fresh machine: `make demo` and `make test`. Every target sets up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RQ := $(PY) -m rq.cli
RQ_CONFIG := -c failure_handlers.rq_settings
WORKER_CLASS := -w failure_handlers.queues.PausableWorker
EXCEPTION_HANDLER := --exception-handler failure_handlers.integration.record_failure
STAMP := $(VENV)/.installed
# pytest-xdist processes for `make test` (0: one process). Each has its own embedded server, or its own
# database of TEST_REDIS_URL (the URL's database, then the next ones).
TEST_WORKERS ?= 2

.PHONY: setup demo worker test lint typecheck info dlq-list dlq-show dlq-stats dlq-delete dlq-purge dlq-check dlq-reconcile reconciler \
	chaos chaos-failover requeue bench bench-quick bench-dlq bench-instructions bench-worker-instructions bench-storm profile-handler clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: setup  ## the whole product once, on REDIS_URL or an embedded server
	$(PY) scripts/demo.py

worker: setup  ## a production-style worker that covers every job (what the Procfile runs)
	$(VENV)/bin/rq worker default --with-scheduler $(RQ_CONFIG) $(WORKER_CLASS) $(EXCEPTION_HANDLER)

test: setup  ## the whole suite: unit and integration tests on a real server, in TEST_WORKERS processes
	$(PY) -m pytest -n $(TEST_WORKERS) $(ARGS)

lint: setup  ## ruff, then the type checker
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory typecheck

typecheck: setup  ## mypy on the library (strict on storage, dlq, recording, retry, operations; pyproject.toml)
	$(VENV)/bin/mypy

info: setup  ## rq info on the project's REDIS_URL
	$(RQ) info $(RQ_CONFIG) $(ARGS)

dlq-list: setup
	$(PY) scripts/dlq.py list $(ARGS)

dlq-show: setup
	@test -n "$(ID)" || { echo "error: give the job id: make dlq-show ID=<job_id>" >&2; exit 2; }
	$(PY) scripts/dlq.py show "$(ID)" $(ARGS)

dlq-stats: setup
	$(PY) scripts/dlq.py stats $(ARGS)

dlq-delete: setup
	@test -n "$(ID)" || { echo "error: give the job id(s): make dlq-delete ID=<job_id>" >&2; exit 2; }
	$(PY) scripts/dlq.py delete $(ID) $(ARGS)

dlq-purge: setup  ## e.g. make dlq-purge ARGS="--queue billing --dry-run"
	$(PY) scripts/dlq.py purge $(ARGS)

dlq-check: setup  ## exit 0/1/2 = OK/WARNING/CRITICAL
	$(PY) scripts/dlq.py check $(ARGS)

dlq-reconcile: setup  ## a full pass: failed jobs without a DLQ entry get one (ARGS=--watch keeps running)
	$(PY) scripts/dlq.py reconcile $(ARGS)

reconciler: setup  ## what the Procfile's `reconciler` process runs
	$(VENV)/bin/rq-dlq reconcile --watch

chaos: setup  ## the chaos experiment, e.g. make chaos ARGS="--jobs 10000"
	$(PY) scripts/chaos.py $(ARGS)

chaos-failover: setup  ## a frozen and a shut-down Sentinel primary, without then with WAIT (ARGS="--jobs 50")
	$(PY) scripts/failover_chaos.py --both $(ARGS)

requeue: setup  ## make requeue ID="<id> <id>", or make requeue ARGS="--all" / ARGS="--exc-type KeyError"
	@test -n "$(ID)$(ARGS)" || { echo "error: give job ids (ID=...) or a selection (ARGS=--all)" >&2; exit 2; }
	$(PY) scripts/requeue.py $(ID) $(ARGS)

bench: setup  ## the benchmark suite vs plain RQ in the same run; writes BENCHMARKS.md (~30 min); ARGS=--quick
	$(PY) -m benchmarks $(ARGS)

bench-quick: setup  ## the same suite at small sizes, once each: a smoke test (under 1 min), writes no file
	$(PY) -m benchmarks --quick $(ARGS)

bench-storm: setup  ## only the failure storm (issue 20 item 4): 4 rq workers, 20,000 failing jobs, ours vs plain; ARGS="--jobs 4000"
	$(PY) -m benchmarks.storm $(ARGS)

bench-instructions: setup  ## only the server's instructions per DLQ add and per failed job, under valgrind (~3 min)
	$(PY) benchmarks/server_instructions.py $(ARGS)

bench-worker-instructions: setup  ## only the worker's instructions per final failure and retried attempt, ours vs plain RQ, under valgrind (~5 min)
	$(PY) benchmarks/worker_instructions.py $(ARGS)

bench-dlq: setup  ## only items 4-5: the DLQ at 100,000 entries, and bulk requeue vs rq requeue --all
	$(PY) benchmarks/dlq_at_scale.py $(ARGS)

profile-handler: setup  ## where a failure's handler time goes: cProfile of final failures and retried attempts
	$(PY) -m benchmarks.profile_handler $(ARGS)

.PHONY: dashboard bench-dashboard screenshots
dashboard: setup  ## the DLQ web dashboard on http://127.0.0.1:9181 (waitress); ARGS="--host 0.0.0.0" needs DASHBOARD_AUTH
	$(VENV)/bin/rq-dlq web $(ARGS)

bench-dashboard: setup  ## only item 8: dashboard pages and API at 100,000 entries (server time)
	$(PY) benchmarks/dashboard_speed.py $(ARGS)

screenshots: setup  ## re-take docs/screenshots/*.png: the browser test (needs /usr/bin/chromium)
	DASHBOARD_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/web/test_browser.py tests/web/test_browser_roles.py -q

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache
