#!/bin/bash
# The detect command line: small models, output formats, inputs (files,
# directories, stdin), drawing, bad files, model lookup, the default model.
#   test_detect_cli.sh DETECT SOURCE_ROOT
set -u
DETECT=$1
ROOT=$2
DATA=$ROOT/tests/models/data
MODELS=$ROOT/tests/data/models
TMP=$(mktemp -d "${TMPDIR:-/tmp}/odet_detect_cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}

# run EXPECTED_STATUS ARGS... : runs detect, stdout in $TMP/out, stderr in $TMP/err
run() {
    local want=$1
    shift
    "$DETECT" "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "detect $* exited $got, expected $want"
        sed 's/^/    stderr: /' "$TMP/err" | head -5
    fi
}

has() { # has FILE TEXT
    grep -qF -- "$2" "$1" || fail "'$2' not in $(basename "$1"): $(head -c 400 "$1")"
}

lines() { # lines FILE -> number of lines
    wc -l <"$1" | tr -d ' '
}

IMG1=$DATA/detector/noise_200x150_b0_c70_s100.png
IMG2=$DATA/detector/noise_90x130_b0_c70_s112.png

# ---- help and usage errors
run 0 --help
has "$TMP/out" "usage: detect"
run 2
has "$TMP/err" "no input images"
run 2 --threshold 2 "$IMG1"
has "$TMP/err" "--threshold 2"
run 2 --arch yolo "$IMG1"
has "$TMP/err" "centernet, detr, vfnet"
run 2 --bogus "$IMG1"
has "$TMP/err" "unknown option --bogus"

# ---- every small model, text output
for m in centernet centernet_dcn detr vfnet; do
    run 0 -m "$MODELS/$m/model.onnx" -t 0.3 "$IMG1" "$IMG2"
    has "$TMP/out" "$IMG1: "
    has "$TMP/out" "(200x150)"
    has "$TMP/out" "$IMG2: "
    has "$TMP/out" "(90x130)"
    grep -qE '^  class[0-9] 0\.[0-9]{2} \[-?[0-9]+\.[0-9] -?[0-9]+\.[0-9] -?[0-9]+\.[0-9] -?[0-9]+\.[0-9]\]$' "$TMP/out" ||
        fail "$m: no detection line in the expected format"
done

# the golden count at the golden threshold (DETR, first case)
read -r _ gm gimg gthr gcount < <(grep '^case detr ' "$DATA/detector/expected.txt" | head -1)
run 0 -m "$MODELS/$gm/model.onnx" -t "$gthr" "$DATA/detector/$gimg"
has "$TMP/out" "$gimg: $gcount detections"

# ---- JSON Lines
run 0 -m "$MODELS/vfnet/model.onnx" --json --max-detections 5 "$IMG1" "$IMG2"
[ "$(lines "$TMP/out")" = 2 ] || fail "--json: expected 2 lines, got $(lines "$TMP/out")"
has "$TMP/out" "{\"file\":\"$IMG1\",\"width\":200,\"height\":150,\"detections\":[{\"class\":\"class"
has "$TMP/out" "\"class_id\":"
has "$TMP/out" "\"score\":0."
has "$TMP/out" "\"box\":["
has "$TMP/out" "],\"timings_ms\":{\"decode\":"
has "$TMP/out" ",\"preprocess\":"
has "$TMP/out" ",\"inference\":"
has "$TMP/out" ",\"postprocess\":"
n=$(head -1 "$TMP/out" | grep -o '"class_id"' | wc -l)
[ "$n" = 5 ] || fail "--max-detections 5 gave $n detections"
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$TMP/out" ||
        fail "--json output is not valid JSON Lines"
fi

# names that need escaping
cp "$IMG2" "$TMP/we\"ird\\name.png"
run 0 -m "$MODELS/centernet/model.onnx" --json "$TMP/we\"ird\\name.png"
has "$TMP/out" 'we\"ird\\name.png"'

# ---- directories and stdin
run 0 -m "$MODELS/centernet/model.onnx" "$DATA/detector"
n=$(grep -c ': [0-9]* detections* (' "$TMP/out")
want=$(ls "$DATA/detector"/*.png | wc -l)
[ "$n" = "$want" ] || fail "directory: $n images processed, $want expected"
grep -o '^[^ ]*: [0-9]* detection' "$TMP/out" | sed 's/: .*//' >"$TMP/order"
sort -c "$TMP/order" 2>/dev/null || fail "directory images not in sorted order"
printf '%s\n\n%s\n' "$IMG1" "$IMG2" | "$DETECT" -m "$MODELS/detr/model.onnx" - >"$TMP/out" 2>"$TMP/err" ||
    fail "stdin list failed"
[ "$(grep -c 'detections* (' "$TMP/out")" = 2 ] || fail "stdin list: expected 2 images"

# ---- bad files: reported, the others processed, exit status 1
run 1 -m "$MODELS/detr/model.onnx" "$IMG1" "$DATA/truncated.jpg" "$DATA/huge_100000x100000.png" \
    "$DATA/text.png" "$DATA/empty.png" "$TMP/missing.png" "$DATA/pixel_1x1.png" \
    "$DATA/rgb16_19x13.png" "$DATA/gray_33x17.png" "$DATA/rgba_31x23.png" "$IMG2"
for f in truncated.jpg huge_100000x100000.png text.png empty.png; do
    has "$TMP/err" "$DATA/$f"
done
has "$TMP/err" "$TMP/missing.png"
has "$TMP/err" "truncated JPEG"
has "$TMP/err" "100000x100000"
[ "$(grep -c 'detections* (' "$TMP/out")" = 6 ] ||
    fail "bad files: expected 6 processed images, got $(grep -c 'detections* (' "$TMP/out")"
has "$TMP/out" "pixel_1x1.png: "
has "$TMP/out" "(1x1)"
has "$TMP/out" "(19x13)"
has "$TMP/out" "(33x17)"
has "$TMP/out" "(31x23)"
run 1 -m "$MODELS/detr/model.onnx" --json "$DATA/text.png" "$IMG1"
has "$TMP/out" "{\"file\":\"$DATA/text.png\",\"error\":"
[ "$(lines "$TMP/out")" = 2 ] || fail "--json with a bad file: expected 2 lines"

# ---- models that do not fit, missing models
run 2 -m "$MODELS/detr/model.onnx" --arch centernet "$IMG1"
has "$TMP/err" "output 'pred_logits'"
has "$TMP/err" "must be [1,C,H/4,W/4]"
run 2 -m "$MODELS/centernet/model.onnx" --arch vfnet "$IMG1"
has "$TMP/err" "no output named 'cls_score_0'"
run 2 -m "$TMP/none.onnx" "$IMG1"
has "$TMP/err" "none.onnx"
run 2 -m "$DATA/text.png" "$IMG1"
has "$TMP/err" "not a valid ONNX model"

# ---- drawing
run 0 -m "$MODELS/vfnet/model.onnx" -t 0.5 -o "$TMP/one.png" "$IMG1"
[ -s "$TMP/one.png" ] || fail "--out FILE.png not written"
head -c 8 "$TMP/one.png" | od -An -c | grep -q 'P   N   G' || fail "--out one.png is not a PNG"
run 0 -m "$MODELS/vfnet/model.onnx" -t 0.5 --out "$TMP/one.jpg" "$IMG1"
[ "$(head -c 2 "$TMP/one.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || fail "--out one.jpg is not a JPEG"
run 0 -m "$MODELS/centernet/model.onnx" -o "$TMP/drawn" "$IMG1" "$IMG2"
[ -s "$TMP/drawn/noise_200x150_b0_c70_s100.png" ] && [ -s "$TMP/drawn/noise_90x130_b0_c70_s112.png" ] ||
    fail "--out DIR: files missing: $(ls "$TMP/drawn" 2>&1)"
run 2 -m "$MODELS/centernet/model.onnx" -o "$TMP/two.png" "$IMG1" "$IMG2"
has "$TMP/err" "exactly one input image"
run 2 -m "$MODELS/centernet/model.onnx" -o "$TMP/x.bmp" "$IMG1"
has "$TMP/err" ".png or .jpg"
# the drawn image differs from the input where boxes are
cmp -s "$TMP/drawn/noise_200x150_b0_c70_s100.png" "$IMG1" && fail "--out DIR: image unchanged"

# ---- verbose
run 0 -m "$MODELS/detr/model.onnx" -v "$IMG1"
has "$TMP/err" "arch detr, 5 classes"
has "$TMP/err" "inference"
has "$TMP/err" "postprocess"

# ---- model lookup: $ODET_MODEL, then the default model
ODET_MODEL=$MODELS/centernet/model.onnx "$DETECT" "$IMG1" >"$TMP/out" 2>"$TMP/err" ||
    fail "ODET_MODEL: $(cat "$TMP/err")"
has "$TMP/out" "$IMG1: "
DEFAULT=$ROOT/models/default/centernet_shapes.onnx
if [ -f "$DEFAULT" ]; then
    shopt -s nullglob
    ex=("$ROOT"/examples/*.jpg "$ROOT"/examples/*.png)
    if [ ${#ex[@]} -gt 0 ]; then
        env -u ODET_MODEL "$DETECT" "${ex[0]}" >"$TMP/out" 2>"$TMP/err" ||
            fail "default model: $(cat "$TMP/err")"
        has "$TMP/out" "$(basename "${ex[0]}"): "
        env -u ODET_MODEL "$DETECT" --json "$ROOT/examples" >"$TMP/out" 2>"$TMP/err" ||
            fail "default model on examples/: $(cat "$TMP/err")"
        echo "default model: $(lines "$TMP/out") example images processed"
    fi
else
    fail "default model $DEFAULT is missing"
fi

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all detect CLI checks passed"
