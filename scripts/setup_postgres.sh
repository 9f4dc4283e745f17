#!/usr/bin/env bash
# Install PostgreSQL (Debian's package) idempotently: the store tests run every store test on SQLite and
# on a private PostgreSQL cluster of their own (tests/support/stores.py), and the e2e network needs it.
# Called by scripts/test.sh and scripts/setup_e2e.sh.
set -euo pipefail

have_initdb() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if ! have_initdb; then
  echo "setup_postgres: installing postgresql" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
