#!/usr/bin/env bash
# Every test gitfeed has, from a clean checkout: installs what the tests need, then runs them.
# Pass pytest arguments to narrow it down, e.g. `scripts/test.sh -m "not e2e and not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check torch==2.13.0
# The same pins as the README's install command: CI tests what users get. The test extra brings
# ray[serve] (the scoring-worker tests start a real local Ray).
python3 -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
bash scripts/setup_web_tests.sh
bash scripts/setup_postgres.sh  # the store tests run on SQLite and PostgreSQL
if [ -f scripts/setup_e2e.sh ]; then bash scripts/setup_e2e.sh; fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0
ruff check firehose feedserver gitfeed tests scripts training
python3 -m pytest "$@"
