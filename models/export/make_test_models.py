#!/usr/bin/python3
"""Export the small test variants with ONNX Runtime goldens.

    make_test_models.py [--out tests/data/models] [--only NAME ...]

For each model NAME (centernet, centernet_dcn, detr, vfnet) this writes, in
the layout of ONNX's backend node tests:

    OUT/NAME/model.onnx
    OUT/NAME/test_data_set_0/input_0.pb    seeded standard-normal input
    OUT/NAME/test_data_set_0/output_K.pb   ONNX Runtime (CPU) outputs
    OUT/NAME/ops.txt                       sorted op types of model.onnx

The goldens come from tools/reference/ort_run.js (install its dependency
first: see tools/reference/README.md).  PyTorch eager outputs are compared
with them as a sanity check; the script fails if they disagree by more than
rtol 1e-3 / atol 1e-4.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import common  # noqa: E402
import export  # noqa: E402

MODELS = ("centernet", "centernet_dcn", "detr", "vfnet")
WEIGHT_SEED = 0
INPUT_SEED = 1234
RTOL, ATOL = 1e-3, 1e-4


def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def ort_run(model_path, out_dir, inputs, extra=()):
    script = os.path.join(ROOT, "tools", "reference", "ort_run.js")
    cmd = ["node", script, *extra, model_path, out_dir, *inputs]
    subprocess.run(cmd, check=True)


def make(name, out_root):
    d = os.path.join(out_root, name)
    data = os.path.join(d, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    for f in os.listdir(data):
        if f.endswith(".pb"):
            os.remove(os.path.join(data, f))

    model, spec = export.make_model(name, "small", WEIGHT_SEED)
    model_path = os.path.join(d, "model.onnx")
    proto = export.export(model, spec, model_path)
    ops = common.op_types(proto)
    with open(os.path.join(d, "ops.txt"), "w") as f:
        f.write("\n".join(ops) + "\n")

    inputs = export.make_inputs(spec, INPUT_SEED)
    in_paths = export.write_inputs(spec, inputs, data)
    ort_run(model_path, data, in_paths)
    eager = export.run_eager(model, inputs)

    ok = True
    print(f"{name}: opset {common.opset_version(proto)}, {len(proto.graph.node)} nodes, "
          f"model.onnx {os.path.getsize(model_path) / 1e6:.3f} MB")
    for k, (oname, y) in enumerate(zip(spec["output_names"], eager)):
        pb_name, ref = load_pb(os.path.join(data, f"output_{k}.pb"))
        if pb_name != oname or ref.shape != y.shape:
            print(f"  output_{k}: name/shape mismatch ORT {pb_name}{list(ref.shape)} "
                  f"vs torch {oname}{list(y.shape)}")
            ok = False
            continue
        diff = np.abs(ref.astype(np.float64) - y.astype(np.float64))
        rel = diff / np.maximum(np.abs(ref), ATOL)
        good = bool(np.all(diff <= ATOL + RTOL * np.abs(ref)))
        ok &= good
        print(f"  output_{k} {oname} {list(ref.shape)}: |ort| max {np.abs(ref).max():.3g} "
              f"mean {np.abs(ref).mean():.3g}; torch vs ort max abs {diff.max():.3g} "
              f"max rel {rel.max():.3g} {'ok' if good else 'MISMATCH'}")
    print(f"  ops ({len(ops)}): {' '.join(ops)}")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description="Export small test models with ORT goldens.")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "models"))
    ap.add_argument("--only", nargs="*", choices=MODELS)
    args = ap.parse_args(argv)
    ok = True
    for name in args.only or MODELS:
        ok &= make(name, args.out)
    if not ok:
        print("torch and ONNX Runtime disagree", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
