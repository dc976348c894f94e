#!/usr/bin/python3
"""Compare the output_K.pb tensors of two directories.

    compare_pb.py REF_DIR TEST_DIR [--rtol 1e-3] [--atol 1e-4]

REF_DIR is the reference (e.g. ONNX Runtime goldens).  An element passes if
|test - ref| <= atol + rtol * |ref| (numpy.allclose convention).  For every
output_K.pb in REF_DIR this prints the shape, the max absolute error, the max
relative error |test - ref| / |ref| over elements with |ref| > atol, the
number of failing elements and PASS/FAIL.  Exit status: 0 if all outputs
pass, 1 on any mismatch or missing output, 2 on usage errors.
"""

import argparse
import glob
import os
import re
import sys

import numpy as np
from onnx import TensorProto, numpy_helper


def load(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


def compare(ref, test, rtol, atol):
    """Return (ok, max_abs, max_rel, n_bad, worst_index, msg)."""
    if ref.shape != test.shape:
        return False, float("nan"), float("nan"), ref.size, None, \
            f"shape {test.shape} != reference {ref.shape}"
    if ref.dtype != test.dtype:
        return False, float("nan"), float("nan"), ref.size, None, \
            f"dtype {test.dtype} != reference {ref.dtype}"
    if ref.dtype == np.bool_ or np.issubdtype(ref.dtype, np.integer):
        bad = ref != test
        n_bad = int(bad.sum())
        diff = np.abs(ref.astype(np.float64) - test.astype(np.float64))
        max_abs = float(diff.max()) if diff.size else 0.0
        return n_bad == 0, max_abs, 0.0, n_bad, None, ""
    r = ref.astype(np.float64)
    t = test.astype(np.float64)
    nan_mismatch = np.isnan(r) != np.isnan(t)
    both_nan = np.isnan(r) & np.isnan(t)
    diff = np.where(both_nan, 0.0, np.abs(t - r))
    diff = np.where(np.isinf(r) & (r == t), 0.0, diff)
    bad = (diff > atol + rtol * np.abs(r)) | nan_mismatch
    bad &= ~both_nan
    max_abs = float(np.nanmax(diff)) if diff.size else 0.0
    big = np.abs(r) > atol
    max_rel = float(np.nanmax(diff[big] / np.abs(r[big]))) if big.any() else 0.0
    n_bad = int(bad.sum())
    worst = None
    if n_bad:
        excess = np.where(bad, diff - (atol + rtol * np.abs(r)), -np.inf)
        excess = np.where(np.isnan(excess), np.inf, excess)
        worst = np.unravel_index(int(np.argmax(excess)), r.shape)
    return n_bad == 0, max_abs, max_rel, n_bad, worst, ""


def output_files(d):
    files = glob.glob(os.path.join(d, "output_*.pb"))
    key = lambda p: int(re.search(r"output_(\d+)\.pb$", p).group(1))
    return sorted((f for f in files if re.search(r"output_(\d+)\.pb$", f)), key=key)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref_dir")
    ap.add_argument("test_dir")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args(argv)

    refs = output_files(args.ref_dir)
    if not refs:
        print(f"compare_pb: no output_*.pb in {args.ref_dir}", file=sys.stderr)
        return 2
    all_ok = True
    for ref_path in refs:
        base = os.path.basename(ref_path)
        test_path = os.path.join(args.test_dir, base)
        name, ref = load(ref_path)
        label = f"{base} ({name})" if name else base
        if not os.path.exists(test_path):
            print(f"{label}: FAIL missing in {args.test_dir}")
            all_ok = False
            continue
        _, test = load(test_path)
        ok, max_abs, max_rel, n_bad, worst, msg = compare(ref, test, args.rtol, args.atol)
        line = (f"{label}: shape={list(ref.shape)} max_abs={max_abs:.3g} "
                f"max_rel={max_rel:.3g} bad={n_bad}/{ref.size}")
        if msg:
            line += f" {msg}"
        if worst is not None:
            idx = tuple(int(i) for i in worst)
            line += f" worst@{list(idx)} ref={ref[idx]!r} got={test[idx]!r}"
        print(f"{line} {'PASS' if ok else 'FAIL'}")
        all_ok &= ok
    extra = sorted(set(map(os.path.basename, output_files(args.test_dir)))
                   - set(map(os.path.basename, refs)))
    for base in extra:
        print(f"{base}: FAIL not in reference {args.ref_dir}")
        all_ok = False
    print("PASS" if all_ok else "FAIL", f"(rtol={args.rtol} atol={args.atol})")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
