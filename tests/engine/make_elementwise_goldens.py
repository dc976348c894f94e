#!/usr/bin/python3
"""Golden test cases for the element-wise operators.

Writes ONNX node-test directories (model.onnx + test_data_set_0/input_K.pb,
output_K.pb) under tests/engine/data/elementwise/. Expected outputs come from
PyTorch where it has the operator (Mish, Gelu, PRelu, HardSwish, ...) and from
numpy otherwise. Cases cover what the ONNX 1.12 node tests do not: Mish and
Gelu (opsets 18 and 20, also inside older-opset models as exporters emit
them), tensors large enough to be split across threads with channel / row /
two-sided broadcasting, three-way Where broadcasting, variadic ops over
differently shaped inputs, opset 6 axis broadcasting and Clip attributes,
per-channel 1-D PRelu slopes, integer Div/Mod sign conventions, integer
activations, float16 arithmetic and activations, and Round's ties.

Run:  /usr/bin/python3 tests/engine/make_elementwise_goldens.py
Then: build/tests/engine/conformance --root tests/engine/data/elementwise
"""
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "elementwise")
RNG = np.random.default_rng(20240612)

NP2ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.bool_): TensorProto.BOOL,
}


def save_case(name, op, inputs, outputs, attrs=None, opset=17):
    """inputs/outputs: lists of (name, array); a None array marks an absent optional input."""
    d = os.path.join(OUT, "test_" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    node_in = [n if a is not None else "" for n, a in inputs]
    node = helper.make_node(op, node_in, [n for n, _ in outputs], **(attrs or {}))
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
        t = numpy_helper.from_array(np.array(a, order="C"), n)
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())
        k += 1
    for k, (n, a) in enumerate(outputs):
        t = numpy_helper.from_array(np.array(a, order="C"), n)
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())


def randn(*shape, scale=1.0, dtype=np.float32):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


def randint(lo, hi, shape, dtype):
    return RNG.integers(lo, hi, size=shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def unary(name, op, x, y, attrs=None, opset=17):
    save_case(name, op, [("x", x)], [("y", y)], attrs, opset)


def binary(name, op, a, b, y, attrs=None, opset=17):
    save_case(name, op, [("a", a), ("b", b)], [("y", y)], attrs, opset)


def activations():
    # tails included: the textbook Gelu / Mish forms cancel there
    x = np.concatenate([randn(200, scale=4.0),
                        np.array([-30, -12, -8, -1e-3, 0, 1e-3, 8, 12, 30], np.float32)])
    mish = F.mish(t(x).double()).float().numpy()
    unary("mish", "Mish", x, mish, opset=18)
    unary("mish_in_opset13_model", "Mish", x, mish, opset=13)
    gelu = F.gelu(t(x).double()).float().numpy()
    unary("gelu_default", "Gelu", x, gelu, opset=20)
    unary("gelu_in_opset13_model", "Gelu", x, gelu, opset=13)
    gelu_t = F.gelu(t(x).double(), approximate="tanh").float().numpy()
    unary("gelu_tanh", "Gelu", x, gelu_t, {"approximate": "tanh"}, opset=20)
    # large enough to be split across threads
    # large enough to be split across threads (cheap ops from 32768 elements,
    # transcendental ones from 4096)
    xl = randn(1, 8, 64, 64, scale=4.0)
    xm = xl[:, :2]
    unary("hardswish", "HardSwish", xm, F.hardswish(t(xm)).numpy(), opset=14)
    unary("sigmoid_large", "Sigmoid", xm, torch.sigmoid(t(xm).double()).float().numpy(),
          opset=13)
    unary("leakyrelu_large", "LeakyRelu", xl,
          F.leaky_relu(t(xl), 0.1).numpy(), {"alpha": 0.1}, opset=16)
    xd = randn(3, 7, dtype=np.float64)
    unary("leakyrelu_double", "LeakyRelu", xd,
          np.where(xd < 0, np.float64(np.float32(0.2)) * xd, xd), {"alpha": 0.2}, opset=16)
    unary("softplus_tails", "Softplus", x, F.softplus(t(x).double()).float().numpy(), opset=13)
    r = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.49999997, 0.50000006], np.float32)
    unary("round_ties", "Round", r, np.round(r), opset=11)


def integer_unary():
    x8 = np.array([-128, -7, 0, 5, 127], np.int8)
    unary("relu_int8", "Relu", x8, np.maximum(x8, 0), opset=14)
    unary("neg_int8", "Neg", x8, (-x8.astype(np.int16)).astype(np.int8), opset=13)
    x32 = randint(-1000, 1000, (4, 5), np.int32)
    unary("sign_int32", "Sign", x32, np.sign(x32), opset=13)
    x64 = randint(-10 ** 12, 10 ** 12, (7,), np.int64)
    unary("abs_int64", "Abs", x64, np.abs(x64), opset=13)
    lo = np.array(-300, np.int64)
    save_case("clip_int64_min_only", "Clip", [("x", x64 // 10 ** 9), ("min", lo)],
              [("y", np.maximum(x64 // 10 ** 9, lo))], opset=13)


def broadcasting():
    a = randn(1, 16, 48, 48)
    c = randn(1, 16, 1, 1)
    binary("add_channel_bcast_large", "Add", a, c, a + c, opset=14)
    binary("sub_channel_first_large", "Sub", c, a, c - a, opset=14)
    p = randn(1, 400, 85)
    r = randn(85)
    binary("mul_row_bcast", "Mul", p, r, p * r, opset=14)
    u = randn(4, 1, 6)
    v = randn(1, 5, 1)
    binary("div_both_bcast", "Div", u, v, u / v, opset=14)
    n = randn(5000, 2)
    m = randn(5000, 1)
    binary("mul_narrow_rows", "Mul", n, m, n * m, opset=14)
    s = np.array(0.5, np.float32)
    p = p[0, :3]
    binary("pow_scalar_half", "Pow", np.abs(p), np.array(0.5, np.float32),
           np.sqrt(np.abs(p)), opset=15)
    binary("pow_scalar_two", "Pow", p, np.array(2.0, np.float32), p * p, opset=15)
    binary("greater_scalar", "Greater", p, s, p > s, opset=13)
    i1 = randint(-5, 5, (3, 1, 4), np.int64)
    i2 = randint(-5, 5, (2, 1), np.int64)
    binary("less_int64_bcast", "Less", i1, i2, i1 < i2, opset=13)
    b1 = RNG.integers(0, 2, (2, 3)).astype(np.bool_)
    b2 = RNG.integers(0, 2, (3,)).astype(np.bool_)
    binary("equal_bool_bcast", "Equal", b1, b2, b1 == b2, opset=13)
    # Where: condition, X and Y all broadcast
    cond = RNG.integers(0, 2, (2, 1, 4)).astype(np.bool_)
    x = randn(3, 1)
    y = np.array(-1.0, np.float32)
    save_case("where_bcast3", "Where", [("c", cond), ("x", x), ("y", y)],
              [("z", np.where(cond, x, y))], opset=16)
    xd = randn(3, 4, dtype=np.float64)
    yd = randn(4, dtype=np.float64)
    c2 = RNG.integers(0, 2, (3, 4)).astype(np.bool_)
    save_case("where_double", "Where", [("c", c2), ("x", xd), ("y", yd)],
              [("z", np.where(c2, xd, yd))], opset=16)
    xu = randint(0, 255, (5, 3), np.uint8)
    yu = randint(0, 255, (5, 1), np.uint8)
    c3 = RNG.integers(0, 2, (1, 3)).astype(np.bool_)
    save_case("where_uint8", "Where", [("c", c3), ("x", xu), ("y", yu)],
              [("z", np.where(c3, xu, yu))], opset=16)


def variadic():
    a = randn(3)
    b = randn(2, 3)
    c = randn(2, 1)
    d = randn(1)
    ins = [("a", a), ("b", b), ("c", c), ("d", d)]
    save_case("sum_bcast4", "Sum", ins, [("y", a + b + c + d)], opset=13)
    save_case("mean_bcast4", "Mean", ins, [("y", (a + b + c + d) / 4)], opset=13)
    save_case("max_bcast3", "Max", ins[:3], [("y", np.maximum(np.maximum(a, b), c))], opset=13)
    save_case("min_bcast3", "Min", ins[:3], [("y", np.minimum(np.minimum(a, b), c))], opset=13)
    wn = np.array([1.0, np.nan, 3.0], np.float32)
    save_case("max_nan", "Max", [("a", wn), ("b", np.zeros(3, np.float32))],
              [("y", np.maximum(wn, 0))], opset=13)


def old_forms():
    a = randn(2, 3, 4, 5)
    b = randn(3, 4)
    binary("add_opset6_axis", "Add", a, b, a + b.reshape(1, 3, 4, 1),
           {"broadcast": 1, "axis": 1}, opset=6)
    m = randn(5)
    binary("mul_opset6_suffix", "Mul", a, m, a * m, {"broadcast": 1}, opset=6)
    x = randn(3, 4, scale=3.0)
    unary("clip_opset6_attrs", "Clip", x, np.clip(x, -1.0, 0.5),
          {"min": -1.0, "max": 0.5}, opset=6)
    unary("clip_opset6_default_max", "Clip", x, np.clip(x, -0.25, None),
          {"min": -0.25}, opset=6)
    xs = randn(2, 3, 4, 4)
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    want = F.prelu(t(xs), t(slope)).numpy()
    binary("prelu_channel_1d", "PRelu", xs, slope, want, opset=9)
    binary("prelu_channel_c11", "PRelu", xs, slope.reshape(3, 1, 1), want, opset=16)


def integer_binary():
    x = randint(-50, 50, (6, 7), np.int32)
    y = randint(-9, 9, (7,), np.int32)
    y[y == 0] = 3
    trunc = (np.abs(x) // np.abs(y)) * np.sign(x) * np.sign(y)
    binary("div_int32_trunc", "Div", x, y, trunc.astype(np.int32), opset=14)
    binary("mod_int32_bcast", "Mod", x, y, np.mod(x, y), opset=13)
    binary("mod_int32_fmod_bcast", "Mod", x, y, np.fmod(x, y), {"fmod": 1}, opset=13)
    u = randint(0, 255, (4, 4), np.uint8)
    v = randint(0, 255, (4, 4), np.uint8)
    binary("sub_uint8_wrap", "Sub", u, v, u - v, opset=14)
    binary("mul_uint8_wrap", "Mul", u, v, u * v, opset=14)
    p = randint(-9, 9, (3, 1), np.int64)
    q = np.array([4, -4], np.int64)
    save_case("max_int64_bcast", "Max", [("a", p), ("b", q)], [("y", np.maximum(p, q))],
              opset=13)


def float16():
    a = randn(3, 40).astype(np.float16)
    b = randn(40).astype(np.float16)
    binary("add_float16_bcast", "Add", a, b, (a.astype(np.float32) + b).astype(np.float16),
           opset=14)
    binary("less_float16", "Less", a, b, a < b, opset=13)
    unary("relu_float16", "Relu", a, np.maximum(a, np.float16(0)), opset=14)
    unary("sigmoid_float16", "Sigmoid", a,
          torch.sigmoid(t(a).float()).half().numpy(), opset=13)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    activations()
    integer_unary()
    broadcasting()
    variadic()
    old_forms()
    integer_binary()
    float16()
    print("wrote %d cases to %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
