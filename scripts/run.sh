#!/usr/bin/env bash
# Run Rostrum on the embedded defaults (SQLite in ./data, in-memory live state, no Redis) with a
# demo meeting; the server prints one join link per role. Arguments go to the server:
#   bash scripts/run.sh --host 0.0.0.0 --port 9000
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SETUP_TEST=0 bash scripts/setup.sh

export ROSTRUM_DATA_DIR="${ROSTRUM_DATA_DIR:-$ROOT/data}"
mkdir -p "$ROSTRUM_DATA_DIR"
echo "run: data in $ROSTRUM_DATA_DIR; Ctrl-C stops the server"

exec "$ROOT/.venv/bin/python" -m meeting_server --demo "$@"
