#!/usr/bin/env bash
# What the browser tests (tests/test_web_browser.py) need: Debian's chromium and Playwright for Python.
# Playwright drives /usr/bin/chromium; `playwright install` (a browser download) is never used.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
fi
python3 -c "import playwright" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check \
  -c "$(dirname "$0")/../constraints.txt" "playwright>=1.40"
