#!/usr/bin/env bash
# Cross-language interop: tokens minted in Python verify and decide identically in Node, and
# the other way round, on one runtime folder shared by both. Each direction runs in a fresh
# folder: one language plays plan.json (mint), the other replays every case and compares
# (decide) and attenuates the tokens it received with agent keys from the folder (--emit),
# and the first language replays those attenuations in turn.
#
#     bash tests/interop/run.sh PYTHON        # PYTHON: the venv's python, e.g. .venv/bin/python
#
# Exits non-zero on any mismatch; the folders and case files are then kept for inspection.
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: bash tests/interop/run.sh PYTHON" >&2
  exit 2
fi
# Absolute, without resolving the venv's symlink (its python must stay the venv's).
PYTHON="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rid-interop.XXXXXX")"
started=$SECONDS
failed=0

direction() { # MINTER DECIDER
  local from=$1 to=$2 dir="$WORK/$1-to-$2"
  local -A mint=([python]="$PYTHON $HERE/mint.py" [node]="node $HERE/mint.mjs")
  local -A decide=([python]="$PYTHON $HERE/decide.py" [node]="node $HERE/decide.mjs")
  echo "== $from mints, $to decides and attenuates, $from replays the attenuations"
  ${mint[$from]} "$dir/rt" "$dir/cases.json" &&
    ${decide[$to]} "$dir/rt" "$dir/cases.json" --emit "$dir/handoffs.json" &&
    ${decide[$from]} "$dir/rt" "$dir/handoffs.json"
}

mkdir -p "$WORK/python-to-node" "$WORK/node-to-python"
direction python node || failed=1
direction node python || failed=1

if [[ $failed -ne 0 ]]; then
  echo "interop: FAILED (folders and case files kept in $WORK)" >&2
  exit 1
fi
rm -rf "$WORK"
echo "interop: Python and Node agree in both directions ($((SECONDS - started)) s)"
