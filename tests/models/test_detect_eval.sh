#!/usr/bin/env bash
# detect-eval end to end: the shipped trained models on the committed
# validation subset (tests/data/val_shapes, seed 9100, never used in
# training) must reach the AP50 that PyTorch eager reaches on the same
# images (recorded by models/train/parity.py --record) within 0.01; result
# files round-trip through --score; bad input fails with a clear message.
# usage: test_detect_eval.sh DETECT_EVAL SOURCE_ROOT
set -u
BIN=$1
ROOT=$2
DATA=$ROOT/tests/data/val_shapes
REF=$DATA/reference_ap50.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

ap50_of() { # summary file -> AP50 value
    grep -F 'Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]' "$1" |
        sed 's/.*= //'
}

# ---- AP50 of every shipped trained model vs PyTorch ----
models=0
while read -r model key value; do
    case $model in '#'* | '') continue ;; esac
    [ "$key" = ap50 ] || { fail "$REF: bad line '$model $key $value'"; continue; }
    if [ ! -f "$ROOT/$model" ]; then
        fail "$model is listed in $REF but missing"
        continue
    fi
    if ! "$BIN" --model "$ROOT/$model" --images "$DATA/images" \
        --annotations "$DATA/annotations.json" --threads 1 --quiet \
        --results "$TMP/res.json" >"$TMP/sum.txt" 2>"$TMP/err.txt"; then
        fail "$model: detect-eval failed: $(cat "$TMP/err.txt")"
        continue
    fi
    if [ "$(wc -l <"$TMP/sum.txt")" -ne 12 ]; then
        fail "$model: expected the 12-line summary, got: $(cat "$TMP/sum.txt")"
        continue
    fi
    got=$(ap50_of "$TMP/sum.txt")
    if awk -v g="$got" -v w="$value" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
        echo "$model: AP50 $got (PyTorch $value)"
    else
        fail "$model: AP50 $got, PyTorch reached $value (tolerance 0.01)"
    fi
    # the written result file scores to the same summary
    if ! "$BIN" --annotations "$DATA/annotations.json" --score "$TMP/res.json" \
        --quiet >"$TMP/sum2.txt" 2>"$TMP/err.txt"; then
        fail "$model: --score on its own results failed: $(cat "$TMP/err.txt")"
    elif ! cmp -s "$TMP/sum.txt" "$TMP/sum2.txt"; then
        fail "$model: --score of the written results differs from the run's summary"
    fi
    models=$((models + 1))
done <"$REF"
[ "$models" -ge 1 ] || fail "no model evaluated from $REF"

# ---- parallel jobs give the same result file; the JSON summary ----
DEF=$ROOT/models/default/centernet_shapes.onnx
for j in 1 2; do
    "$BIN" --model "$DEF" --images "$DATA/images" --annotations "$DATA/annotations.json" \
        --threads 1 --jobs $j --quiet --results "$TMP/jobs$j.json" \
        --summary-json "$TMP/summary$j.json" >"$TMP/sum$j.txt" 2>"$TMP/err.txt" ||
        fail "--jobs $j: $(cat "$TMP/err.txt")"
done
cmp -s "$TMP/jobs1.json" "$TMP/jobs2.json" || fail "--jobs 2 results differ from --jobs 1"
grep -q '"AP50":' "$TMP/summary1.json" || fail "--summary-json has no AP50"
json_ap50=$(sed -n 's/.*"AP50":[[:space:]]*\([0-9.e-]*\).*/\1/p' "$TMP/summary1.json" | head -1)
printed=$(ap50_of "$TMP/sum1.txt")
[ "$(printf '%.3f' "$json_ap50")" = "$printed" ] ||
    fail "--summary-json AP50 $json_ap50 does not print as $printed"

# ---- per-class table and --limit ----
if "$BIN" --model "$DEF" --images "$DATA/images" --annotations "$DATA/annotations.json" \
    --limit 5 --per-class --quiet >"$TMP/pc.txt" 2>"$TMP/err.txt"; then
    for c in circle square triangle star cross ring heart arrow; do
        grep -q "^$c " "$TMP/pc.txt" || fail "--per-class: no row for $c"
    done
else
    fail "--limit/--per-class run failed: $(cat "$TMP/err.txt")"
fi

# ---- bad input: exit status and a message naming the problem ----
expect() { # expected-status needle args...
    local want=$1 needle=$2
    shift 2
    "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
    local st=$?
    if [ "$st" -ne "$want" ]; then
        fail "detect-eval $*: exit $st, expected $want ($(cat "$TMP/err"))"
    elif ! grep -qF -- "$needle" "$TMP/err"; then
        fail "detect-eval $*: message lacks '$needle': $(cat "$TMP/err")"
    fi
}
expect 2 "--annotations is required" --images "$DATA/images"
expect 2 "unknown option" --annotations x --bogus
expect 2 "--threshold" --annotations x --images y --threshold 2
expect 1 "$TMP/none.json: cannot open" --annotations "$TMP/none.json" --images "$DATA/images"
head -c 300 "$DATA/annotations.json" >"$TMP/trunc.json"
expect 1 "invalid JSON" --annotations "$TMP/trunc.json" --images "$DATA/images"
echo '[{"image_id": 999999, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]' \
    >"$TMP/alien.json"
expect 1 "image_id 999999 is not an image" --annotations "$DATA/annotations.json" \
    --score "$TMP/alien.json"
mkdir -p "$TMP/imgs"
expect 1 "$TMP/imgs/000000.jpg" --model "$DEF" --annotations "$DATA/annotations.json" \
    --images "$TMP/imgs"
printf 'not an onnx file' >"$TMP/bad.onnx"
expect 2 "$TMP/bad.onnx" --model "$TMP/bad.onnx" --annotations "$DATA/annotations.json" \
    --images "$DATA/images"

if [ "$failures" -ne 0 ]; then
    echo "$failures detect-eval check(s) failed"
    exit 1
fi
echo "all detect-eval checks passed ($models models)"
