#!/usr/bin/python3
"""Side-by-side benchmark: odet postprocess vs torchvision / scipy.

    /usr/bin/python3 tools/bench/bench_postprocess_ref.py BUILD/tools/bench/bench-postprocess \
        [--repeat 7] [--seed 2024] [--filter SUBSTRING] [--markdown]

Generates the same data as bench_postprocess.c (same counter-based
generator, only +, -, *, / and floor on doubles, so the float32 inputs are
bit-identical; the data checksums printed by both sides are compared), times
the reference on it single-threaded (torch.set_num_threads(1)), runs the C
binary on the same case right after (same seed and repeat count, so both
sides see the same machine load), checks that both produced the same result
(kept set, assignment, IoU sum) and prints medians and ratios.
Each side: one warm-up run, then --repeat timed runs; median reported.
"""
import argparse
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.optimize
import torch
import torchvision

U64 = np.uint64


def mix64(z):
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


def uni(seed, stream, i):
    """Uniform [0, 1) draws number i of stream `stream` (vectorized)."""
    i = np.asarray(i, dtype=U64)
    with np.errstate(over="ignore"):
        z = U64(seed) * U64(0x9E3779B97F4A7C15) + U64(stream) * U64(0xD1B54A32D192ED03) + i
        return (mix64(z) >> U64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def gen_nms(seed, n, nclasses):
    W, H = 1280.0, 720.0
    objects = max(n // 40, 8)
    i = np.arange(n, dtype=U64)
    k = np.floor(uni(seed, 6, i) * objects).astype(U64)
    bg = uni(seed, 14, i) < 0.15
    ox, oy = uni(seed, 1, k) * W, uni(seed, 2, k) * H
    u3, u4 = uni(seed, 3, k), uni(seed, 4, k)
    ow, oh = 16.0 + u3 * u3 * 300.0, 16.0 + u4 * u4 * 300.0
    cx = np.where(bg, uni(seed, 7, i) * W, ox + (uni(seed, 7, i) - 0.5) * 0.3 * ow)
    cy = np.where(bg, uni(seed, 8, i) * H, oy + (uni(seed, 8, i) - 0.5) * 0.3 * oh)
    w = np.where(bg, 10.0 + uni(seed, 9, i) * 200.0, ow * (0.75 + 0.5 * uni(seed, 9, i)))
    h = np.where(bg, 10.0 + uni(seed, 10, i) * 200.0, oh * (0.75 + 0.5 * uni(seed, 10, i)))
    sc = np.where(bg, uni(seed, 11, i) * 0.3, uni(seed, 11, i))
    own = (~bg) & (uni(seed, 12, i) < 0.9)
    cls = np.where(own, np.floor(uni(seed, 5, k) * nclasses), np.floor(uni(seed, 13, i) * nclasses))
    boxes = np.stack([cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0], 1)
    return boxes.astype(np.float32), sc.astype(np.float32), cls.astype(np.int32)


def gen_iou_boxes(seed, stream, n):
    i = np.arange(n, dtype=U64)
    x, y = uni(seed, stream, i) * 1000.0, uni(seed, stream + 1, i) * 1000.0
    w, h = 5.0 + uni(seed, stream + 2, i) * 200.0, 5.0 + uni(seed, stream + 3, i) * 200.0
    return np.stack([x, y, x + w, y + h], 1).astype(np.float32)


def gen_cost(seed, n):
    return uni(seed, 30 + n, np.arange(n * n, dtype=U64)).astype(np.float32).reshape(n, n)


def checksum(*arrays):
    return int(sum(int(a.view(np.uint32).astype(U64).sum()) for a in arrays)) % (1 << 64)


def set_hash(values):
    v = np.asarray(values, dtype=U64) + U64(1)
    return int(mix64(v).sum()) if len(v) else 0  # uint64 sum wraps modulo 2^64


def timed(fn, repeat):
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), out


def reference_cases(seed, repeat, flt):
    """Yields (name, reference label, median ms, result, hash, data checksum)."""
    for n in (1000, 10000, 50000):
        boxes, scores, classes = gen_nms(seed, n, 80)
        data = checksum(boxes, scores, classes)
        bt, st = torch.from_numpy(boxes), torch.from_numpy(scores)
        ct = torch.from_numpy(classes.astype(np.int64))
        for tag, label, fn in (
                ("80cls", "torchvision batched_nms", lambda: torchvision.ops.batched_nms(bt, st, ct, 0.5)),
                ("agnostic", "torchvision nms", lambda: torchvision.ops.nms(bt, st, 0.5))):
            name = "nms_%d_%s" % (n, tag)
            if flt and flt not in name:
                continue
            ms, keep = timed(fn, repeat)
            yield name, label, ms, float(len(keep)), set_hash(keep.numpy()), data
    name = "iou_matrix_1000x1000"
    if not flt or flt in name:
        a, b = gen_iou_boxes(seed, 20, 1000), gen_iou_boxes(seed, 24, 1000)
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        ms, m = timed(lambda: torchvision.ops.box_iou(at, bt), repeat)
        yield name, "torchvision box_iou", ms, float(m.double().sum()), 0, checksum(a, b)
    for n in (100, 300, 1000):
        name = "lsa_%dx%d" % (n, n)
        if flt and flt not in name:
            continue
        c = gen_cost(seed, n)
        ms, (ri, ci) = timed(lambda: scipy.optimize.linear_sum_assignment(c), repeat)
        total = float(c.astype(np.float64)[ri, ci].sum())
        yield name, "scipy linear_sum_assignment", ms, total, set_hash(ri * n + ci), checksum(c)


def run_odet(binary, seed, repeat, case):
    cmd = [binary, "--seed", str(seed), "--repeat", str(repeat), "--case", case]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        f = line.split()
        if not f or f[0] != "case":
            continue
        kv = dict(zip(f[2::2], f[3::2]))
        res[f[1]] = (float(kv["median_ms"]), float(kv["result"]), int(kv["hash"]), int(kv["data"]))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", help="path to the bench-postprocess executable")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--filter", default=None, help="only cases whose name contains this")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args()
    torch.set_num_threads(1)

    refs, odet = [], {}
    for case in reference_cases(args.seed, args.repeat, args.filter):
        refs.append(case)
        odet.update(run_odet(args.binary, args.seed, args.repeat, case[0]))

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print("# seed %d, %d timed runs after one warm-up, median; single thread; %s" %
          (args.seed, args.repeat, cpu))
    print("# torch %s, torchvision %s, scipy %s, numpy %s" %
          (torch.__version__, torchvision.__version__, scipy.__version__, np.__version__))
    rows = []
    ok = True
    for name, label, ms, result, h, data in refs:
        if name not in odet:
            print("missing odet case %s" % name, file=sys.stderr)
            ok = False
            continue
        oms, oresult, oh, odata = odet[name]
        if odata != data:
            print("%s: data checksums differ (odet %d, python %d)" % (name, odata, data),
                  file=sys.stderr)
            ok = False
        same = abs(oresult - result) <= 1e-6 * max(1.0, abs(result)) and oh == h
        if not same:
            print("%s: results differ (odet %r/%d, reference %r/%d)" % (name, oresult, oh, result, h),
                  file=sys.stderr)
            ok = False
        rows.append((name, label, ms, oms, ms / oms if oms > 0 else float("inf"),
                     "yes" if same else "NO"))
    if args.markdown:
        print("| case | reference | reference ms | odet ms | speed-up | same result |")
        print("|---|---|---:|---:|---:|:---:|")
        for r in rows:
            print("| %s | %s | %.3f | %.3f | %.1fx | %s |" % r)
    else:
        print("%-22s %-28s %12s %10s %9s %5s" % ("case", "reference", "ref ms", "odet ms",
                                                "speed-up", "same"))
        for r in rows:
            print("%-22s %-28s %12.3f %10.3f %8.1fx %5s" % r)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
