#!/usr/bin/env bash
# Build the notes model end to end on a CPU-only machine:
#   dataset -> train (wall-clock budget) -> n-gram baseline -> ONNX export + check -> manifest + model card.
# Usage: models/notes/train_all.sh [--budget-minutes 100] [--threads 1] [--seed 1234]
#                                  [--out-dir models/notes] [--run-dir .cache/notes-run] [--cache .cache/notes-data]
#                                  [--dataset-limit N] [--extra-train-args "..."]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUDGET=100
THREADS=1
SEED=1234
OUT_DIR="$HERE"
RUN_DIR="$ROOT/.cache/notes-run"
CACHE="$ROOT/.cache/notes-data"
LIMIT=""
EXTRA=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget-minutes) BUDGET="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --out-dir) OUT_DIR="$2"; shift 2 ;;
    --run-dir) RUN_DIR="$2"; shift 2 ;;
    --cache) CACHE="$2"; shift 2 ;;
    --dataset-limit) LIMIT="--limit $2"; shift 2 ;;
    --extra-train-args) EXTRA="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

VENV="${NOTES_VENV:-$ROOT/.venv-notes}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, music21, numpy, onnx, onnxruntime" 2>/dev/null; then
  echo "== installing requirements"
  "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
fi
PY="$VENV/bin/python"
export PYTHONHASHSEED=0 OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
mkdir -p "$RUN_DIR" "$CACHE" "$OUT_DIR"
T0=$(date +%s)

echo "== dataset ($(date -u +%FT%TZ))"
"$PY" "$HERE/dataset.py" --cache "$CACHE" --seed "$SEED" $LIMIT
# Dataset time counts against the budget.
USED_MIN=$(( ($(date +%s) - T0) / 60 ))
TRAIN_BUDGET=$(( BUDGET - USED_MIN - 3 ))
if (( TRAIN_BUDGET < 1 )); then TRAIN_BUDGET=1; fi

echo "== train, budget ${TRAIN_BUDGET} min ($(date -u +%FT%TZ))"
"$PY" "$HERE/train.py" --cache "$CACHE" --out "$RUN_DIR" --seed "$SEED" --threads "$THREADS" \
  --budget-minutes "$TRAIN_BUDGET" $EXTRA

SEQ_LEN=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['seq_len'])" "$RUN_DIR/train_metrics.json")
EVAL_WIN=$("$PY" -c "import json,sys; v=json.load(open(sys.argv[1]))['val_windows']; print('' if v=='all' else '--eval-windows %d' % v)" "$RUN_DIR/train_metrics.json")
echo "== n-gram baseline ($(date -u +%FT%TZ))"
"$PY" "$HERE/ngram.py" --cache "$CACHE" --out "$RUN_DIR" --seq-len "$SEQ_LEN" $EVAL_WIN

echo "== export + check + manifest + model card ($(date -u +%FT%TZ))"
"$PY" "$HERE/export.py" --run "$RUN_DIR" --cache "$CACHE" --out-dir "$OUT_DIR" --threads "$THREADS" --seed "$SEED"
echo "== done in $(( ($(date +%s) - T0) / 60 )) min ($(date -u +%FT%TZ))"
