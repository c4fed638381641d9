#!/usr/bin/env bash
# The demo: installs preflab into .venv, then `preflab demo` (SQLite under ./var, demo campaign, serves on
# http://127.0.0.1:8000 and prints an admin and an annotator login). Extra arguments go to `preflab demo`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    echo "==> Creating .venv"
    python3 -m venv .venv
fi
echo "==> Installing preflab into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# torch first, pinned (CPU build), then preflab with its ML extra for in-process training and generation.
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[ml]'
exec .venv/bin/preflab demo "$@"
