#!/usr/bin/env bash
# Trains every task of the hard family (circuits_benchmark/hard/catalogue.py) that has no finished
# run yet, one at a time on one thread at low priority, then releases those whose checks pass into
# circuits_benchmark/releases/hard/. Resumable: run it again after a stop and it continues (a
# finished run is skipped, an interrupted one continues from its checkpoint).
#
#     scripts/train_hard_family.sh [OUTPUT_DIR] [TASKS]     (defaults: results, hard = every task)
set -euo pipefail
cd "$(dirname "$0")/.."
OUTPUT_DIR="${1:-results}"
TASKS="${2:-hard}"
PYTHON="${PYTHON:-.venv/bin/python}"
export OMP_NUM_THREADS=1
nice -n 10 "$PYTHON" main.py train iit -i "$TASKS" --resume --threads 1 -o "$OUTPUT_DIR"
nice -n 10 "$PYTHON" main.py release build -i "$TASKS" -o "$OUTPUT_DIR"
