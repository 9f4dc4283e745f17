#!/usr/bin/env bash
# Install what the end-to-end tests need, idempotently: PostgreSQL (Debian's package; the tests run a
# private cluster of their own) and the local Bluesky network's node modules (tests/e2e, pinned by
# package-lock.json). Called by scripts/test.sh (the README's test command) and so by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup_postgres.sh

if ! command -v node >/dev/null 2>&1; then
  echo "setup_e2e: node (20+) is required for the local Bluesky network" >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lockfile.
lock=tests/e2e/package-lock.json
stamp=tests/e2e/node_modules/.package-lock.json
if [ ! -d tests/e2e/node_modules/@atproto/dev-env ] || [ "$lock" -nt "$stamp" ]; then
  echo "setup_e2e: npm ci in tests/e2e (about 2 minutes)" >&2
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
