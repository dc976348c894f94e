#!/usr/bin/python3
"""Golden test cases for the normalization and pooling operators.

Writes ONNX node-test directories (model.onnx + test_data_set_0/input_K.pb,
output_K.pb) under tests/engine/data/norm_pool/. Expected outputs come from
PyTorch where it has the operator in the same form, otherwise from the small
numpy reference below (direct loops over an explicitly padded array). Cases
cover what the ONNX 1.12 node tests do not: GroupNormalization (opset 18
per-group and opset 21 per-channel scale/bias), LayerNormalization with
broadcast Scale / no bias / double input, old BatchNormalization forms,
SPP-style MaxPool, ceil_mode edge windows, Indices with pads, dilations and
storage_order, int8/uint8 MaxPool, AveragePool count_include_pad with
ceil_mode, dilations (opset 19), asymmetric pads, LpPool, global pools, and
rows wider than the separable path's line buffer.

Run:  /usr/bin/python3 tests/engine/make_norm_pool_goldens.py
Then: build/tests/engine/conformance --root tests/engine/data/norm_pool
"""
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "norm_pool")
RNG = np.random.default_rng(20240611)

NP2ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.int64): TensorProto.INT64,
}


def save_case(name, op, inputs, outputs, attrs, opset, input_names=None):
    """inputs/outputs: lists of (name, array) -- a None array marks an absent optional input."""
    d = os.path.join(OUT, "test_" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    node_in = [n if a is not None else "" for n, a in inputs]
    node = helper.make_node(op, node_in, [n for n, _ in outputs], **attrs)
    g_in = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape)
            for n, a in inputs if a is not None]
    g_out = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape) for n, a in outputs]
    graph = helper.make_graph([node], name, g_in, g_out)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, os.path.join(d, "model.onnx"))
    k = 0
    for n, a in inputs:
        if a is None:
            continue
        t = numpy_helper.from_array(np.ascontiguousarray(a), n)
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())
        k += 1
    for k, (n, a) in enumerate(outputs):
        t = numpy_helper.from_array(np.ascontiguousarray(a), n)
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# ------------------------------------------------------------------ numpy pooling reference

def out_size(n, k, s, d, pb, pe, ceil, auto_pad):
    ext = (k - 1) * d + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        o = -(-n // s)
        total = max(0, (o - 1) * s + ext - n)
        pb = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        return o, pb, total - pb
    if auto_pad == "VALID":
        pb = pe = 0
    span = n + pb + pe - ext
    o = (-(-span // s) if ceil else span // s) + 1
    if ceil and (o - 1) * s >= n + pb:
        o -= 1
    return o, pb, pe


def np_pool(x, kind, k, s=None, d=None, pads=None, ceil=0, cip=0, p=2, auto_pad="NOTSET",
            want_indices=False, col_major=False):
    """Direct N-d pooling on float64. Padded cells are NaN and never counted;
    count_include_pad counts taps inside [-pb, n + pe)."""
    nsp = len(k)
    s = s or [1] * nsp
    d = d or [1] * nsp
    pads = pads or [0] * (2 * nsp)
    N, C = x.shape[:2]
    ins = x.shape[2:]
    geo = [out_size(ins[i], k[i], s[i], d[i], pads[i], pads[i + nsp], ceil, auto_pad)
           for i in range(nsp)]
    outs = [g[0] for g in geo]
    xf = x.astype(np.float64)
    y = np.zeros((N, C) + tuple(outs))
    ind = np.zeros((N, C) + tuple(outs), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for o in np.ndindex(*outs):
                starts = [o[i] * s[i] - geo[i][1] for i in range(nsp)]
                vals, idxs, padded = [], [], 1
                for i in range(nsp):
                    lo, hi = -geo[i][1], ins[i] + geo[i][2]
                    padded *= sum(1 for j in range(k[i]) if lo <= starts[i] + j * d[i] < hi)
                for tap in np.ndindex(*k):
                    pos = [starts[i] + tap[i] * d[i] for i in range(nsp)]
                    if all(0 <= pos[i] < ins[i] for i in range(nsp)):
                        vals.append(xf[(n, c) + tuple(pos)])
                        if col_major:
                            flat = 0
                            for i in reversed(range(nsp)):
                                flat = flat * ins[i] + pos[i]
                        else:
                            flat = int(np.ravel_multi_index(pos, ins))
                        idxs.append(flat)
                vals = np.array(vals)
                if kind == "max":
                    j = int(np.argmax(vals))
                    y[(n, c) + o] = vals[j]
                    ind[(n, c) + o] = (n * C + c) * int(np.prod(ins)) + idxs[j]
                elif kind == "avg":
                    y[(n, c) + o] = vals.sum() / (padded if cip else len(vals))
                else:
                    y[(n, c) + o] = (np.abs(vals) ** p).sum() ** (1.0 / p)
    y = y.astype(x.dtype)
    return (y, ind) if want_indices else y


def pool_attrs(k, s=None, d=None, pads=None, **kw):
    a = {"kernel_shape": list(k)}
    if s:
        a["strides"] = list(s)
    if d:
        a["dilations"] = list(d)
    if pads:
        a["pads"] = list(pads)
    a.update(kw)
    return a


def torch_maxpool_indices(x, y_idx_plane):
    """torch indices are per plane; ONNX flattens over N x C x spatial."""
    N, C = x.shape[:2]
    plane = int(np.prod(x.shape[2:]))
    off = (np.arange(N * C, dtype=np.int64) * plane).reshape((N, C) + (1,) * (x.ndim - 2))
    return y_idx_plane.astype(np.int64) + off


# ------------------------------------------------------------------ normalization cases

def norm_cases():
    # GroupNormalization, opset 18: scale/bias per group.
    x = randn(2, 6, 3, 4)
    sc, bi = randn(3), randn(3)
    y = F.group_norm(t(x), 3, t(np.repeat(sc, 2)), t(np.repeat(bi, 2)), eps=1e-5).numpy()
    save_case("groupnorm_opset18_per_group", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)], {"num_groups": 3}, 18)

    # Opset 18 model with C-sized scale/bias (unambiguous because C != num_groups).
    x = randn(2, 6, 5)
    sc, bi = randn(6), randn(6)
    y = F.group_norm(t(x), 2, t(sc), t(bi), eps=1e-3).numpy()
    save_case("groupnorm_opset18_per_channel", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)],
              {"num_groups": 2, "epsilon": 1e-3}, 18)

    # Opset 21: per channel.
    x = randn(1, 8, 3, 3)
    sc, bi = randn(8), randn(8)
    y = F.group_norm(t(x), 4, t(sc), t(bi), eps=1e-5).numpy()
    save_case("groupnorm_opset21", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)], {"num_groups": 4}, 21)

    # Emitted into an older opset; one group; rank 2; badly centred data.
    x = randn(2, 4, 3, 3)
    sc, bi = randn(1), randn(1)
    y = F.group_norm(t(x), 1, t(np.repeat(sc, 4)), t(np.repeat(bi, 4)), eps=1e-5).numpy()
    save_case("groupnorm_opset13_one_group", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)], {"num_groups": 1}, 13)
    x = randn(3, 6)
    sc, bi = randn(3), randn(3)
    y = F.group_norm(t(x), 3, t(np.repeat(sc, 2)), t(np.repeat(bi, 2))).numpy()
    save_case("groupnorm_rank2", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)], {"num_groups": 3}, 18)
    x = (randn(1, 4, 8, 8) * 0.01 + 1000.0).astype(np.float32)
    sc, bi = randn(2), randn(2)
    y = F.group_norm(t(x).double(), 2, t(np.repeat(sc, 2)).double(),
                     t(np.repeat(bi, 2)).double(), eps=1e-5).float().numpy()
    save_case("groupnorm_offset_mean", "GroupNormalization",
              [("X", x), ("scale", sc), ("bias", bi)], [("Y", y)], {"num_groups": 2}, 18)

    # LayerNormalization with Scale broadcasting over the normalized dims.
    x = randn(2, 3, 4)
    sc, bi = randn(1, 4), randn(4)
    xd = x.astype(np.float64)
    mean = xd.mean(axis=(1, 2), keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=(1, 2), keepdims=True)
    inv = 1.0 / np.sqrt(var + 1e-5)
    y = ((xd - mean) * inv * sc + bi).astype(np.float32)
    save_case("layernorm_broadcast_scale", "LayerNormalization",
              [("X", x), ("Scale", sc), ("B", bi)],
              [("Y", y), ("Mean", mean.astype(np.float32)), ("InvStdDev", inv.astype(np.float32))],
              {"axis": 1}, 17)

    # No bias, only Y requested.
    x = randn(2, 5, 8)
    sc = randn(8)
    y = F.layer_norm(t(x), (8,), t(sc), None, eps=1e-5).numpy()
    save_case("layernorm_no_bias", "LayerNormalization", [("X", x), ("Scale", sc)], [("Y", y)],
              {}, 17)

    # Double input: Y double, Mean/InvStdDev float (stash_type 1).
    x = randn(3, 7, dtype=np.float64)
    sc, bi = randn(7, dtype=np.float64), randn(7, dtype=np.float64)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    inv = 1.0 / np.sqrt(var + 1e-5)
    y = F.layer_norm(t(x), (7,), t(sc), t(bi), eps=1e-5).numpy()
    save_case("layernorm_double", "LayerNormalization", [("X", x), ("Scale", sc), ("B", bi)],
              [("Y", y), ("Mean", mean.astype(np.float32)), ("InvStdDev", inv.astype(np.float32))],
              {}, 17)

    # BatchNormalization: opset 6 (is_test), opset 7 spatial=0, opset 9, opset 15 mixed types.
    x = randn(2, 4, 3, 3)
    sc, bi, mu = randn(4), randn(4), randn(4)
    var = (RNG.random(4) + 0.5).astype(np.float32)
    y = F.batch_norm(t(x), t(mu), t(var), t(sc), t(bi), training=False, eps=1e-5).numpy()
    ins = [("X", x), ("scale", sc), ("B", bi), ("mean", mu), ("var", var)]
    save_case("batchnorm_opset6_is_test", "BatchNormalization", ins, [("Y", y)],
              {"is_test": 1}, 6)
    save_case("batchnorm_opset9", "BatchNormalization", ins, [("Y", y)], {}, 9)

    x = randn(2, 3, 2, 2)
    sc, bi, mu = randn(3, 2, 2), randn(3, 2, 2), randn(3, 2, 2)
    var = (RNG.random((3, 2, 2)) + 0.5).astype(np.float32)
    xd = x.astype(np.float64)
    y = ((xd - mu) / np.sqrt(var.astype(np.float64) + 1e-3) * sc + bi).astype(np.float32)
    save_case("batchnorm_opset7_spatial0", "BatchNormalization",
              [("X", x), ("scale", sc), ("B", bi), ("mean", mu), ("var", var)], [("Y", y)],
              {"spatial": 0, "epsilon": 1e-3}, 7)

    x = randn(1, 3, 4, 5)
    sc, bi = randn(3, dtype=np.float64), randn(3, dtype=np.float64)
    mu = randn(3, dtype=np.float64)
    var = RNG.random(3) + 0.5
    y = ((x.astype(np.float64) - mu.reshape(3, 1, 1)) / np.sqrt(var.reshape(3, 1, 1) + 1e-5)
         * sc.reshape(3, 1, 1) + bi.reshape(3, 1, 1)).astype(np.float32)
    save_case("batchnorm_opset15_mixed_types", "BatchNormalization",
              [("X", x), ("scale", sc), ("B", bi), ("mean", mu), ("var", var)], [("Y", y)], {}, 15)

    # InstanceNormalization on 1-D and 3-D spatial inputs.
    x = randn(2, 3, 7)
    sc, bi = randn(3), randn(3)
    y = F.instance_norm(t(x), weight=t(sc), bias=t(bi), eps=1e-3).numpy()
    save_case("instancenorm_1d", "InstanceNormalization", [("input", x), ("scale", sc), ("B", bi)],
              [("output", y)], {"epsilon": 1e-3}, 6)
    x = randn(1, 2, 3, 4, 5)
    sc, bi = randn(2), randn(2)
    y = F.instance_norm(t(x), weight=t(sc), bias=t(bi), eps=1e-5).numpy()
    save_case("instancenorm_3d", "InstanceNormalization", [("input", x), ("scale", sc), ("B", bi)],
              [("output", y)], {}, 6)

    # LpNormalization.
    x = randn(2, 3, 4)
    y = F.normalize(t(x), p=2.0, dim=-1, eps=0.0).numpy()
    save_case("lpnorm_p2_last_axis", "LpNormalization", [("input", x)], [("output", y)], {}, 1)
    y = F.normalize(t(x), p=1.0, dim=1, eps=0.0).numpy()
    save_case("lpnorm_p1_axis1", "LpNormalization", [("input", x)], [("output", y)],
              {"axis": 1, "p": 1}, 1)


# ------------------------------------------------------------------ pooling cases

def pool_cases():
    # SPP / SPPF: MaxPool k = 5, 9, 13, stride 1, same padding.
    x = randn(1, 4, 20, 20)
    for k in (5, 9, 13):
        y = F.max_pool2d(t(x), k, 1, k // 2).numpy()
        save_case("maxpool_spp_k%d" % k, "MaxPool", [("x", x)], [("y", y)],
                  pool_attrs([k, k], [1, 1], pads=[k // 2] * 4), 12)

    # ceil_mode: the last window would start in the right padding and is dropped.
    x = randn(1, 2, 5, 5)
    y = F.max_pool2d(t(x), 2, 2, 1, ceil_mode=True).numpy()
    assert y.shape[-1] == 3
    save_case("maxpool_ceil_drop_last_window", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([2, 2], [2, 2], pads=[1, 1, 1, 1], ceil_mode=1), 12)
    x = randn(1, 2, 6, 7)
    y = F.max_pool2d(t(x), 3, 2, 1, ceil_mode=True).numpy()
    save_case("maxpool_ceil_pads", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([3, 3], [2, 2], pads=[1, 1, 1, 1], ceil_mode=1), 12)

    # Indices with symmetric pads + dilation + ceil (torch), and column-major (numpy).
    x = randn(2, 3, 7, 8)
    y, ind = F.max_pool2d(t(x), (3, 2), (2, 1), (1, 1), (2, 1), ceil_mode=True,
                          return_indices=True)
    save_case("maxpool_indices_pads_dilations_ceil", "MaxPool", [("x", x)],
              [("y", y.numpy()), ("i", torch_maxpool_indices(x, ind.numpy()))],
              pool_attrs([3, 2], [2, 1], [2, 1], [1, 1, 1, 1], ceil_mode=1), 12)
    x = randn(1, 2, 5, 6)
    y, ind = np_pool(x, "max", [3, 2], [2, 2], pads=[1, 0, 1, 1], want_indices=True,
                     col_major=True)
    save_case("maxpool_indices_storage_order1", "MaxPool", [("x", x)], [("y", y), ("i", ind)],
              pool_attrs([3, 2], [2, 2], pads=[1, 0, 1, 1], storage_order=1), 12)
    x = randn(1, 2, 4, 5, 6)
    y, ind = F.max_pool3d(t(x), 2, (1, 2, 2), 1, return_indices=True)
    save_case("maxpool_3d_indices", "MaxPool", [("x", x)],
              [("y", y.numpy()), ("i", torch_maxpool_indices(x, ind.numpy()))],
              pool_attrs([2, 2, 2], [1, 2, 2], pads=[1] * 6), 12)

    # 1-D and 3-D with pads/strides.
    x = randn(2, 3, 11)
    y = F.max_pool1d(t(x), 4, 3, 2, dilation=2, ceil_mode=True).numpy()
    save_case("maxpool_1d_dilation_ceil", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([4], [3], [2], [2, 2], ceil_mode=1), 12)
    x = randn(1, 2, 5, 6, 7)
    y = F.max_pool3d(t(x), (3, 2, 3), (2, 1, 2), (1, 0, 1)).numpy()
    save_case("maxpool_3d_pads_strides", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([3, 2, 3], [2, 1, 2], pads=[1, 0, 1, 1, 0, 1]), 12)

    # auto_pad with strides, asymmetric pads, VALID (numpy).
    x = randn(1, 2, 7, 6)
    for ap in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        y = np_pool(x, "max", [3, 2], [2, 2], auto_pad=ap)
        save_case("maxpool_%s_strides" % ap.lower(), "MaxPool", [("x", x)], [("y", y)],
                  pool_attrs([3, 2], [2, 2], auto_pad=ap), 12)
    y = np_pool(x, "max", [3, 3], [1, 2], pads=[0, 2, 2, 1])
    save_case("maxpool_asymmetric_pads", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([3, 3], [1, 2], pads=[0, 2, 2, 1]), 12)

    # int8 / uint8.
    xi = RNG.integers(-128, 128, size=(1, 2, 6, 6)).astype(np.int8)
    y = F.max_pool2d(t(xi.astype(np.float32)), 3, 2, 1).numpy().astype(np.int8)
    save_case("maxpool_int8", "MaxPool", [("x", xi)], [("y", y)],
              pool_attrs([3, 3], [2, 2], pads=[1, 1, 1, 1]), 12)
    xu = RNG.integers(0, 256, size=(1, 3, 9, 9)).astype(np.uint8)
    y = F.max_pool2d(t(xu.astype(np.float32)), 5, 1, 2).numpy().astype(np.uint8)
    save_case("maxpool_uint8_sppf", "MaxPool", [("x", xu)], [("y", y)],
              pool_attrs([5, 5], [1, 1], pads=[2, 2, 2, 2]), 12)

    # Opset 1 form (no dilations / ceil_mode) and a row wider than the line buffer.
    x = randn(1, 3, 6, 6)
    y = F.max_pool2d(t(x), 2, 2).numpy()
    save_case("maxpool_opset1", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([2, 2], [2, 2]), 1)
    x = randn(1, 1, 1, 4100)
    y = F.max_pool2d(t(x), (3, 5), (1, 2), (1, 2)).numpy()
    save_case("maxpool_wide_row", "MaxPool", [("x", x)], [("y", y)],
              pool_attrs([3, 5], [1, 2], pads=[1, 2, 1, 2]), 12)

    # AveragePool: count_include_pad with ceil_mode (torch semantics: the divisor
    # counts taps inside the padded input only), 1-D, 3-D, dilations, asym pads.
    x = randn(1, 2, 6, 6)
    for cip in (0, 1):
        y = F.avg_pool2d(t(x), 3, 2, 1, ceil_mode=True, count_include_pad=bool(cip)).numpy()
        save_case("averagepool_ceil_pads_cip%d" % cip, "AveragePool", [("x", x)], [("y", y)],
                  pool_attrs([3, 3], [2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
                             count_include_pad=cip), 11)
    x = randn(2, 3, 10)
    y = F.avg_pool1d(t(x), 3, 2, 1, count_include_pad=False).numpy()
    save_case("averagepool_1d_pads_strides", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([3], [2], pads=[1, 1]), 11)
    x = randn(1, 2, 5, 6, 7)
    y = F.avg_pool3d(t(x), (2, 3, 3), (1, 2, 2), (1, 1, 1), count_include_pad=True).numpy()
    save_case("averagepool_3d_pads_cip", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([2, 3, 3], [1, 2, 2], pads=[1] * 6, count_include_pad=1), 11)
    x = randn(1, 2, 9, 9)
    y = np_pool(x, "avg", [3, 2], [1, 2], [2, 3], [2, 1, 2, 3])
    save_case("averagepool_dilations_opset19", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([3, 2], [1, 2], [2, 3], [2, 1, 2, 3]), 19)
    x = randn(1, 2, 7, 6)
    y = np_pool(x, "avg", [3, 3], [2, 1], pads=[0, 2, 1, 0], cip=1)
    save_case("averagepool_asymmetric_pads_cip", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([3, 3], [2, 1], pads=[0, 2, 1, 0], count_include_pad=1), 11)
    y = np_pool(x, "avg", [3, 2], [2, 2], auto_pad="SAME_LOWER")
    save_case("averagepool_same_lower_strides", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([3, 2], [2, 2], auto_pad="SAME_LOWER"), 11)
    x = randn(1, 1, 1, 4100)
    y = F.avg_pool2d(t(x), (2, 3), (1, 2), (1, 1), count_include_pad=False).numpy()
    save_case("averagepool_wide_row", "AveragePool", [("x", x)], [("y", y)],
              pool_attrs([2, 3], [1, 2], pads=[1, 1, 1, 1]), 11)

    # LpPool and GlobalLpPool.
    x = randn(1, 2, 6, 7)
    y = np_pool(x, "lp", [3, 2], [2, 1], pads=[1, 0, 1, 1], p=2)
    save_case("lppool_p2_pads", "LpPool", [("x", x)], [("y", y)],
              pool_attrs([3, 2], [2, 1], pads=[1, 0, 1, 1], p=2), 11)
    y = np_pool(x, "lp", [2, 2], [1, 1], p=3)
    save_case("lppool_p3", "LpPool", [("x", x)], [("y", y)], pool_attrs([2, 2], p=3), 11)
    y = np_pool(x, "lp", [2, 3], [2, 2], p=1)
    save_case("lppool_p1_strides", "LpPool", [("x", x)], [("y", y)],
              pool_attrs([2, 3], [2, 2], p=1), 11)
    xd = x.astype(np.float64)
    for p in (1, 2, 3):
        y = ((np.abs(xd) ** p).sum(axis=(2, 3), keepdims=True) ** (1.0 / p)).astype(np.float32)
        save_case("globallppool_p%d" % p, "GlobalLpPool", [("x", x)], [("y", y)], {"p": p}, 2)

    # Global pools on 1-D and 3-D inputs.
    x = randn(2, 3, 9)
    save_case("globalaveragepool_1d", "GlobalAveragePool", [("x", x)],
              [("y", t(x).mean(dim=2, keepdim=True).numpy())], {}, 1)
    save_case("globalmaxpool_1d", "GlobalMaxPool", [("x", x)],
              [("y", t(x).amax(dim=2, keepdim=True).numpy())], {}, 1)
    x = randn(1, 2, 3, 4, 5)
    save_case("globalaveragepool_3d", "GlobalAveragePool", [("x", x)],
              [("y", t(x).mean(dim=(2, 3, 4), keepdim=True).numpy())], {}, 1)
    save_case("globalmaxpool_3d", "GlobalMaxPool", [("x", x)],
              [("y", t(x).amax(dim=(2, 3, 4), keepdim=True).numpy())], {}, 1)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    norm_cases()
    pool_cases()
    print("wrote %d cases to %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
