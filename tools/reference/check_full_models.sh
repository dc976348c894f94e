#!/bin/sh
# Export the full-size detectors, make ONNX Runtime goldens and, if an odet
# onnx-run binary is given, compare its outputs with them.
#
#   tools/reference/check_full_models.sh [-o OUTDIR] [-r ONNX_RUN] [-b RUNS]
#                                        [-m "centernet centernet_dcn detr vfnet"]
#                                        [-k] [--rtol R] [--atol A]
#
#   -o OUTDIR   where models and data go (default ${TMPDIR:-/tmp}/odet-full-models);
#               never commit it: the full models are 45-170 MB each
#   -r ONNX_RUN path of odet's onnx-run (ONNX_RUN MODEL.onnx OUTDIR IN0.pb ...)
#   -b RUNS     also time ONNX Runtime: median of RUNS runs, 1 and 2 threads
#   -m MODELS   subset of models
#   -k          keep existing exports in OUTDIR (skip export if model.onnx exists)
#
# Per model: OUTDIR/NAME/model.onnx, ops.txt, test_data_set_0/input_0.pb,
# test_data_set_0/output_K.pb (ORT), test_data_set_0/torch/output_K.pb
# (PyTorch eager, compared with ORT as a sanity check), odet/output_K.pb.
# Exit status is non-zero if an export, ORT run or odet comparison fails.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
OUT=${TMPDIR:-/tmp}/odet-full-models
ONNX_RUN=
RUNS=0
MODELS="centernet centernet_dcn detr vfnet"
KEEP=0
RTOL=1e-3
ATOL=1e-4

while [ $# -gt 0 ]; do
    case "$1" in
        -o) OUT=$2; shift 2 ;;
        -r) ONNX_RUN=$2; shift 2 ;;
        -b) RUNS=$2; shift 2 ;;
        -m) MODELS=$2; shift 2 ;;
        -k) KEEP=1; shift ;;
        --rtol) RTOL=$2; shift 2 ;;
        --atol) ATOL=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "check_full_models.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ ! -d "$HERE/node_modules/onnxruntime-node" ]; then
    echo "onnxruntime-node missing: cd $HERE && ONNXRUNTIME_NODE_INSTALL=skip npm ci" >&2
    exit 2
fi
if [ -n "$ONNX_RUN" ] && [ ! -x "$ONNX_RUN" ]; then
    echo "check_full_models.sh: $ONNX_RUN is not executable" >&2
    exit 2
fi

mkdir -p "$OUT"
status=0
summary=""
for m in $MODELS; do
    d=$OUT/$m
    data=$d/test_data_set_0
    echo "=== $m"
    if [ "$KEEP" -eq 0 ] || [ ! -f "$d/model.onnx" ]; then
        rm -rf "$d"
        mkdir -p "$data"
        "$PY" "$ROOT/models/export/export.py" --arch "$m" --size full \
            --out "$d/model.onnx" --ops-out "$d/ops.txt" --data-dir "$data" \
            2>"$d/export.log" || { cat "$d/export.log" >&2; status=1; continue; }
        grep -v -e 'Warning' -e '_C._jit' -e '^ *$' "$d/export.log" || true
    fi
    ls -l "$d/model.onnx" | awk '{printf "model.onnx: %.1f MB\n", $5 / 1e6}'
    echo "ops: $(tr '\n' ' ' < "$d/ops.txt")"

    node "$HERE/ort_run.js" "$d/model.onnx" "$data" "$data/input_0.pb" || { status=1; continue; }
    echo "--- PyTorch eager vs ONNX Runtime (sanity)"
    "$PY" "$HERE/compare_pb.py" "$data" "$data/torch" --rtol "$RTOL" --atol "$ATOL" || \
        summary="$summary\n$m: PyTorch eager and ORT differ beyond rtol=$RTOL atol=$ATOL (see above)"

    if [ "$RUNS" -gt 0 ]; then
        for t in 1 2; do
            node "$HERE/ort_run.js" --threads "$t" --repeat "$RUNS" --no-write \
                "$d/model.onnx" "$data" "$data/input_0.pb" || status=1
        done
    fi

    if [ -n "$ONNX_RUN" ]; then
        echo "--- odet onnx-run vs ONNX Runtime"
        rm -rf "$d/odet"
        mkdir -p "$d/odet"
        if "$ONNX_RUN" "$d/model.onnx" "$d/odet" "$data/input_0.pb"; then
            "$PY" "$HERE/compare_pb.py" "$data" "$d/odet" --rtol "$RTOL" --atol "$ATOL" || {
                status=1; summary="$summary\n$m: odet FAIL"; }
        else
            status=1
            summary="$summary\n$m: onnx-run failed"
        fi
    fi
done

echo "=== op types per model"
for m in $MODELS; do
    [ -f "$OUT/$m/ops.txt" ] && echo "$m: $(tr '\n' ' ' < "$OUT/$m/ops.txt")"
done
echo "union: $(for m in $MODELS; do [ -f "$OUT/$m/ops.txt" ] && cat "$OUT/$m/ops.txt"; done | sort -u | tr '\n' ' ')"
[ -n "$summary" ] && printf "=== notes%b\n" "$summary"
exit $status
