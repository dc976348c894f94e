#!/usr/bin/python3
"""Write goldens for matrix products, Einsum, Softmax, reductions, ArgMax/ArgMin
and TopK in the ONNX node-test layout, for cases ONNX 1.12's node tests lack:
numpy matmul promotion and batch broadcasting, old Gemm forms and C broadcasts,
the Einsum patterns transformers export (float32, so the batched-GEMM path
runs), opset < 13 Softmax (2-D coercion), multi-axis / empty / integer /
opset-18 reductions, ties in ArgMax and TopK, and sizes past the column
blocks (128) of the strided kernels.

Expected outputs come from numpy (and PyTorch for TopK), never from odet.
Each case is a directory tests/engine/data/matmul_reduce/<case>/ with
model.onnx (one node built with onnx.helper) and
test_data_set_0/{input,output}_K.pb.

Run from anywhere with /usr/bin/python3; it rewrites the whole folder.
"""
import os
import shutil

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from onnx.mapping import NP_TYPE_TO_TENSOR_TYPE

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "matmul_reduce")
rng = np.random.default_rng(1234)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def save_case(name, op, inputs, outputs, opset, attrs=None, consts=None):
    """inputs: [(name, array or None for an absent optional input)];
    consts: {name: array} fed as initializers instead of graph inputs."""
    consts = consts or {}
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    node = helper.make_node(op, [n if a is not None or n in consts else "" for n, a in inputs],
                            [n for n, _ in outputs], **(attrs or {}))
    g_inputs = [helper.make_tensor_value_info(n, NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape)
                for n, a in inputs if a is not None and n not in consts]
    g_outputs = [helper.make_tensor_value_info(n, NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape)
                 for n, a in outputs]
    inits = [numpy_helper.from_array(a, n) for n, a in consts.items()]
    graph = helper.make_graph([node], name, g_inputs, g_outputs, initializer=inits)
    model = helper.make_model(graph, producer_name="make_goldens",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, os.path.join(d, "model.onnx"))
    k = 0
    for n, a in inputs:
        if a is None or n in consts:
            continue
        onnx.save_tensor(numpy_helper.from_array(a, n),
                         os.path.join(d, "test_data_set_0", f"input_{k}.pb"))
        k += 1
    for i, (n, a) in enumerate(outputs):
        onnx.save_tensor(numpy_helper.from_array(np.asarray(a), n),
                         os.path.join(d, "test_data_set_0", f"output_{i}.pb"))


def clean():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)


# ---------------------------------------------------------------- MatMul / Gemm
def matmul_cases():
    shapes = {
        "1d_1d": ((5,), (5,)),
        "1d_2d": ((4,), (4, 3)),
        "2d_1d": ((3, 4), (4,)),
        "1d_3d": ((4,), (2, 4, 5)),
        "3d_1d": ((2, 3, 4), (4,)),
        "bcast_batch": ((2, 1, 3, 4), (5, 4, 6)),
        "batched_a_2d_b": ((2, 3, 4, 5), (5, 6)),
        "2d_a_batched_b": ((3, 4), (2, 4, 5)),
        "many_small_batches": ((40, 8, 7), (40, 7, 9)),
        "k_zero": ((2, 0), (0, 3)),
        "big": ((2, 37, 70), (2, 70, 45)),
    }
    for name, (sa, sb) in shapes.items():
        a, b = f32(*sa), f32(*sb)
        save_case(f"matmul_{name}", "MatMul", [("A", a), ("B", b)],
                  [("Y", np.matmul(a, b).astype(np.float32))], 13)
    for dt in (np.float64, np.int32, np.int64):
        a = rng.integers(-5, 6, (2, 3, 4)).astype(dt)
        b = rng.integers(-5, 6, (4, 5)).astype(dt)
        save_case(f"matmul_{np.dtype(dt).name}", "MatMul", [("A", a), ("B", b)],
                  [("Y", np.matmul(a, b))], 13)


def gemm_ref(a, b, c, alpha, beta, ta, tb):
    a = a.T if ta else a
    b = b.T if tb else b
    y = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    if c is not None:
        y = y + beta * c
    return y


def gemm_cases():
    cases = [
        # name, opset, A, B, C, attrs
        ("opset6_broadcast_vector", 6, (3, 5), (5, 4), (4,), {"broadcast": 1}),
        ("opset7_column_bias", 7, (3, 5), (5, 4), (3, 1), {}),
        ("opset9_matrix_bias_beta", 9, (3, 5), (5, 4), (3, 4), {"beta": 2.0}),
        ("opset11_no_c_trans", 11, (5, 3), (4, 5), None,
         {"transA": 1, "transB": 1, "alpha": 0.5}),
        ("scalar_c_trans_a", 13, (6, 3), (6, 4), (), {"transA": 1, "beta": -1.0}),
        ("big", 13, (37, 70), (45, 70), (45,), {"transB": 1}),
    ]
    for name, opset, sa, sb, sc, attrs in cases:
        a, b = f32(*sa), f32(*sb)
        c = None if sc is None else f32(*sc)
        y = gemm_ref(a, b, c, attrs.get("alpha", 1.0), attrs.get("beta", 1.0),
                     attrs.get("transA", 0), attrs.get("transB", 0)).astype(np.float32)
        save_case(f"gemm_{name}", "Gemm", [("A", a), ("B", b), ("C", c)], [("Y", y)],
                  opset, attrs)
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 2))
    c = rng.standard_normal((1, 2))
    save_case("gemm_double", "Gemm", [("A", a), ("B", b), ("C", c)],
              [("Y", gemm_ref(a, b, c, 0.5, 2.0, 0, 0))], 13, {"alpha": 0.5, "beta": 2.0})


def matmulinteger_cases():
    a = rng.integers(0, 256, (2, 3, 4)).astype(np.uint8)
    b = rng.integers(-128, 128, (4, 5)).astype(np.int8)
    za = np.array([3, 250, 7], dtype=np.uint8)       # per row of A
    zb = np.array(-2, dtype=np.int8)
    y = np.matmul(a.astype(np.int32) - za.astype(np.int32)[:, None],
                  b.astype(np.int32) - np.int32(zb))
    save_case("matmulinteger_per_row_zero_point", "MatMulInteger",
              [("A", a), ("B", b), ("a_zero_point", za), ("b_zero_point", zb)],
              [("Y", y.astype(np.int32))], 10)


# ---------------------------------------------------------------- Einsum
def einsum_cases():
    cases = [
        ("attn_scores", "bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 6, 8)]),
        ("attn_context", "bhqk,bhkd->bhqd", [(2, 3, 5, 6), (2, 3, 6, 8)]),
        ("attn_scores_bqhd", "bqhd,bkhd->bhqk", [(2, 5, 3, 8), (2, 6, 3, 8)]),
        ("batch_matmul", "bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
        ("matmul", "ij,jk->ik", [(4, 5), (5, 6)]),
        ("matmul_implicit", "ij,jk", [(4, 5), (5, 6)]),
        ("ellipsis_matmul", "...ij,...jk->...ik", [(2, 3, 4, 5), (2, 3, 5, 6)]),
        ("ellipsis_broadcast", "...ij,...jk->...ik", [(2, 1, 4, 5), (3, 5, 6)]),
        ("trans_b", "ij,kj->ik", [(4, 5), (6, 5)]),
        ("trans_a", "ji,jk->ik", [(5, 4), (5, 6)]),
        ("out_transposed", "ij,jk->ki", [(4, 5), (5, 6)]),
        ("outer", "i,j->ij", [(4,), (6,)]),
        ("dot", "i,i->", [(7,)] * 2),
        ("matvec", "ab,b->a", [(4, 5), (5,)]),
        ("row_dot", "ij,ij->i", [(4, 5), (4, 5)]),
        ("staged_operands", "ijk,jil->kl", [(3, 4, 5), (4, 3, 6)]),
        ("batch_sum_ctx", "nqc,nkc->nqk", [(2, 40, 33), (2, 50, 33)]),
        ("linear_last_dim", "bsd,ed->bse", [(2, 5, 8), (7, 8)]),
        ("one_sided_sum", "ij,jk->k", [(4, 5), (5, 6)]),
        ("three_inputs", "ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
        ("diagonal", "ii->i", [(5, 5)]),
        ("trace", "ii", [(5, 5)]),
        ("transpose_3d", "abc->cab", [(2, 3, 4)]),
        ("sum_all", "ij->", [(3, 4)]),
        ("upper_lower", "Ab,bC->AC", [(3, 4), (4, 2)]),
    ]
    for name, eq, shapes in cases:
        xs = [f32(*s) for s in shapes]
        y = np.einsum(eq.replace(" ", ""), *[x.astype(np.float64) for x in xs])
        save_case(f"einsum_{name}", "Einsum",
                  [(f"x{i}", x) for i, x in enumerate(xs)],
                  [("Y", np.asarray(y).astype(np.float32))], 12, {"equation": eq})
    a = rng.integers(-5, 6, (3, 4)).astype(np.int64)
    b = rng.integers(-5, 6, (4, 2)).astype(np.int64)
    save_case("einsum_int64", "Einsum", [("x0", a), ("x1", b)],
              [("Y", np.einsum("ij,jk->ik", a, b))], 12, {"equation": "ij,jk->ik"})


# ---------------------------------------------------------------- Softmax family
def softmax_np(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def coerce(x, axis):
    axis = axis % x.ndim if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def hardmax_np(x, axis):
    y = np.zeros_like(x)
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    np.put_along_axis(y, idx, 1, axis=axis)
    return y


def softmax_cases():
    x = f32(2, 3, 4)
    for opset in (1, 11):
        for axis in (None, 0, 2):
            attrs = {} if axis is None else {"axis": axis}
            ax = 1 if axis is None else axis
            x2 = coerce(x, ax)
            sm = softmax_np(x2, 1).reshape(x.shape)
            lsm = (x2 - x2.max(1, keepdims=True) -
                   np.log(np.exp(x2 - x2.max(1, keepdims=True)).sum(1, keepdims=True)))
            tag = f"opset{opset}_axis{'default' if axis is None else axis}"
            save_case(f"softmax_{tag}", "Softmax", [("X", x)], [("Y", sm)], opset, attrs)
            save_case(f"logsoftmax_{tag}", "LogSoftmax", [("X", x)],
                      [("Y", lsm.reshape(x.shape).astype(np.float32))], opset, attrs)
            save_case(f"hardmax_{tag}", "Hardmax", [("X", x)],
                      [("Y", hardmax_np(x2, 1).reshape(x.shape))], opset, attrs)
    # Strided axis wider than one column block, and a double input.
    x = f32(2, 5, 300) * 10
    save_case("softmax_axis1_wide_inner", "Softmax", [("X", x)],
              [("Y", softmax_np(x.astype(np.float64), 1).astype(np.float32))], 13, {"axis": 1})
    lsm = x - x.max(1, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm.astype(np.float64)).sum(1, keepdims=True))
    save_case("logsoftmax_axis1_wide_inner", "LogSoftmax", [("X", x)],
              [("Y", lsm.astype(np.float32))], 13, {"axis": 1})
    xd = rng.standard_normal((3, 7)) * 100
    save_case("softmax_double", "Softmax", [("X", xd)], [("Y", softmax_np(xd, -1))], 13)
    # Ties: the first maximum wins.
    xt = np.array([[1, 3, 3, 0], [2, 2, 2, 2], [0, -1, 5, 5]], dtype=np.float32)
    save_case("hardmax_ties", "Hardmax", [("X", xt)], [("Y", hardmax_np(xt, -1))], 13)
    xt3 = np.tile(xt[:, :, None], (1, 1, 130))
    save_case("hardmax_ties_axis1_wide", "Hardmax", [("X", xt3)],
              [("Y", hardmax_np(xt3, 1))], 13, {"axis": 1})


# ---------------------------------------------------------------- Reductions
def red_np(op, x, axes, keepdims):
    xd = x.astype(np.float64) if x.dtype.kind == "f" else x
    ax = None if axes is None else tuple(axes)
    kd = bool(keepdims)
    if op == "ReduceSum":
        return np.sum(xd, axis=ax, keepdims=kd)
    if op == "ReduceMean":
        return np.mean(xd, axis=ax, keepdims=kd)
    if op == "ReduceMax":
        return np.max(xd, axis=ax, keepdims=kd)
    if op == "ReduceMin":
        return np.min(xd, axis=ax, keepdims=kd)
    if op == "ReduceProd":
        return np.prod(xd, axis=ax, keepdims=kd)
    if op == "ReduceL1":
        return np.sum(np.abs(xd), axis=ax, keepdims=kd)
    if op == "ReduceL2":
        return np.sqrt(np.sum(xd * xd, axis=ax, keepdims=kd))
    if op == "ReduceLogSum":
        return np.log(np.sum(xd, axis=ax, keepdims=kd))
    if op == "ReduceLogSumExp":
        m = np.max(xd, axis=ax, keepdims=True)
        r = np.log(np.sum(np.exp(xd - m), axis=ax, keepdims=True)) + m
        return r if kd else np.squeeze(r, axis=ax)
    if op == "ReduceSumSquare":
        return np.sum(xd * xd, axis=ax, keepdims=kd)
    raise ValueError(op)


REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def short(op):
    return op[len("Reduce"):].lower()


def reduce_case(name, op, x, axes, keepdims, opset, noop=None, axes_const=False):
    """Axes as attribute (old opsets) or input 1 (ReduceSum >= 13, others >= 18)."""
    as_input = opset >= (13 if op == "ReduceSum" else 18)
    attrs = {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    inputs = [("X", x)]
    consts = {}
    if as_input:
        if axes is not None:
            a = np.array(axes, dtype=np.int64)
            inputs.append(("axes", a))
            if axes_const:
                consts["axes"] = a
    elif axes is not None:
        attrs["axes"] = list(axes)
    if noop and not axes:
        y = red_np(op, x, [], keepdims)
    else:
        y = red_np(op, x, axes if axes else None, keepdims)
    y = np.asarray(y).astype(x.dtype)
    save_case(name, op, inputs, [("Y", y)], opset, attrs, consts)


def reduce_cases():
    xpos = (rng.random((2, 3, 4, 5)) + 0.5).astype(np.float32)
    for op in REDUCE_OPS:
        s = short(op)
        # Two separate reduced groups, attribute form, no keepdims.
        reduce_case(f"reduce_{s}_axes_0_2_opset11", op, xpos, [0, 2], 0, 11)
        # Reduced axis between kept ones, wider than one column block.
        xw = (rng.random((3, 4, 150)) + 0.5).astype(np.float32)
        reduce_case(f"reduce_{s}_axis1_wide_inner", op, xw, [1], 1, 13 if op != "ReduceSum" else 11)
        # Opset 18: axes as an input (an initializer here), negative axes.
        reduce_case(f"reduce_{s}_opset18_axes_input", op, xpos, [-1, 1], 1, 18, axes_const=True)
        # Opset 18: no axes -> everything, keepdims 0 -> a scalar.
        reduce_case(f"reduce_{s}_opset18_all_scalar", op, xpos, None, 0, 18)
        # Opset 18: noop_with_empty_axes: the element function alone.
        reduce_case(f"reduce_{s}_opset18_noop", op, xpos, None, 1, 18, noop=1)
    # ReduceSum 13 without the axes input reduces everything.
    reduce_case("reduce_sum_opset13_no_axes_input", "ReduceSum", xpos, None, 1, 13)
    # Integer inputs.
    xi = rng.integers(-4, 5, (3, 4, 5)).astype(np.int64)
    for op in ("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
               "ReduceL1"):
        reduce_case(f"reduce_{short(op)}_int64", op, xi, [0, 2], 1, 11)
    xi32 = rng.integers(-100, 100, (4, 6)).astype(np.int32)
    for op in ("ReduceSum", "ReduceMax", "ReduceMin"):
        reduce_case(f"reduce_{short(op)}_int32", op, xi32, [1], 0, 11)
    # Large values: LogSumExp must stay finite.
    xl = (f32(3, 4) * 10 + 1000).astype(np.float32)
    reduce_case("reduce_log_sum_exp_large", "ReduceLogSumExp", xl, [1], 0, 13)
    # Global average pooling shape: reduce H, W of NCHW.
    xg = f32(2, 8, 7, 9)
    reduce_case("reduce_mean_spatial", "ReduceMean", xg, [2, 3], 1, 13)
    # Empty reduction sets (a reduced dim of size 0), per the opset-18 spec.
    xe = np.zeros((2, 0, 3), dtype=np.float32)
    empty = {"ReduceSum": 0.0, "ReduceProd": 1.0, "ReduceMax": -np.inf, "ReduceMin": np.inf,
             "ReduceL1": 0.0, "ReduceL2": 0.0, "ReduceSumSquare": 0.0,
             "ReduceLogSum": -np.inf, "ReduceLogSumExp": -np.inf}
    for op, v in empty.items():
        opset = 13 if op == "ReduceSum" else 11
        attrs = {"keepdims": 0}
        inputs = [("X", xe)]
        if op == "ReduceSum":
            inputs.append(("axes", np.array([1], dtype=np.int64)))
        else:
            attrs["axes"] = [1]
        save_case(f"reduce_{short(op)}_empty_set", op, inputs,
                  [("Y", np.full((2, 3), v, dtype=np.float32))], opset, attrs)


def arg_cases():
    x = np.array([[[1, 5, 5], [5, 2, 5]], [[0, 0, 0], [7, 7, 1]]], dtype=np.float32)
    for op, fn in (("ArgMax", np.argmax), ("ArgMin", np.argmin)):
        lo = op.lower()
        for axis in (0, 1, 2):
            for last in (0, 1):
                if last:
                    flipped = np.flip(x, axis=axis)
                    y = x.shape[axis] - 1 - fn(flipped, axis=axis)
                else:
                    y = fn(x, axis=axis)
                y = np.expand_dims(y, axis).astype(np.int64)
                save_case(f"{lo}_ties_axis{axis}{'_last' if last else ''}", op, [("X", x)],
                          [("Y", y)], 13, {"axis": axis, "keepdims": 1,
                                           "select_last_index": last})
        xi = rng.integers(-3, 4, (4, 3, 140)).astype(np.int64)
        save_case(f"{lo}_int64_axis1_wide", op, [("X", xi)],
                  [("Y", fn(xi, axis=1).astype(np.int64))], 13, {"axis": 1, "keepdims": 0})
        save_case(f"{lo}_opset1_default", op, [("X", x)],
                  [("Y", np.expand_dims(fn(x, axis=0), 0).astype(np.int64))], 1)


def topk_ref(x, k, axis, largest):
    """Sorted top-k; ties by lower index (a stable sort of the keys)."""
    xs = -x if largest else x
    if x.dtype.kind != "f":
        xs = -x.astype(np.int64) if largest else x.astype(np.int64)
    idx = np.argsort(xs, axis=axis, kind="stable")
    idx = np.take(idx, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


def topk_cases():
    x = f32(3, 20)
    v, i = topk_ref(x, 4, -1, True)
    save_case("top_k_opset1_attr", "TopK", [("X", x)], [("Values", v), ("Indices", i)], 1,
              {"k": 4})
    v, i = topk_ref(x, 5, 1, True)
    save_case("top_k_opset10_input", "TopK", [("X", x), ("K", np.array([5], dtype=np.int64))],
              [("Values", v), ("Indices", i)], 10, {"axis": 1})
    xt = np.array([[3, 1, 3, 2, 3, 1], [0, 0, 0, 0, 0, 0]], dtype=np.float32)
    for largest in (1, 0):
        v, i = topk_ref(xt, 4, 1, largest)
        save_case(f"top_k_ties_{'largest' if largest else 'smallest'}", "TopK",
                  [("X", xt), ("K", np.array([4], dtype=np.int64))],
                  [("Values", v), ("Indices", i)], 11, {"axis": 1, "largest": largest})
    xa = f32(9, 3, 140)
    v, i = topk_ref(xa, 3, 0, True)
    save_case("top_k_axis0_strided", "TopK", [("X", xa), ("K", np.array([3], dtype=np.int64))],
              [("Values", v), ("Indices", i)], 11, {"axis": 0})
    xl = f32(2, 1000)
    vt, it = torch.topk(torch.from_numpy(xl), 5, dim=1, largest=True, sorted=True)
    save_case("top_k_small_k_large_n", "TopK",
              [("X", xl), ("K", np.array([5], dtype=np.int64))],
              [("Values", vt.numpy()), ("Indices", it.numpy().astype(np.int64))], 11,
              {"axis": 1})
    v, i = topk_ref(xt, 6, 1, True)
    save_case("top_k_k_equals_n", "TopK", [("X", xt), ("K", np.array([6], dtype=np.int64))],
              [("Values", v), ("Indices", i)], 11, {"axis": 1})
    v, i = topk_ref(xt, 0, 1, True)
    save_case("top_k_k_zero", "TopK", [("X", xt), ("K", np.array([0], dtype=np.int64))],
              [("Values", v), ("Indices", i)], 11, {"axis": 1})
    xi = rng.integers(-10, 10, (4, 12)).astype(np.int64)
    v, i = topk_ref(xi, 3, 1, False)
    save_case("top_k_int64_smallest", "TopK", [("X", xi), ("K", np.array([3], dtype=np.int64))],
              [("Values", v), ("Indices", i)], 11, {"axis": 1, "largest": 0})


if __name__ == "__main__":
    clean()
    matmul_cases()
    gemm_cases()
    matmulinteger_cases()
    einsum_cases()
    softmax_cases()
    reduce_cases()
    arg_cases()
    topk_cases()
    print("wrote", sum(os.path.isdir(os.path.join(OUT, e)) for e in os.listdir(OUT)), "cases")
