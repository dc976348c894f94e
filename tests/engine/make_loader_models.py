#!/usr/bin/python3
"""Writes the small ONNX files the loader tests read (tests/engine/data/loader/).

Each model computes Y = X + C (Add) or similar with C stored in a different
way; the expected values are fixed here and in test_loader.c ([1..6] * 0.5).
Run with Debian's /usr/bin/python3 (python3-onnx).
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "loader")
VALS = (np.arange(1, 7, dtype=np.float64) * 0.5).reshape(2, 3)


def add_model(init, name, in_type=TensorProto.FLOAT, out_type=TensorProto.FLOAT, extra_nodes=(),
              opset=13, domain_ops=()):
    x = helper.make_tensor_value_info("X", in_type, [2, 3])
    y = helper.make_tensor_value_info("Y", out_type, [2, 3])
    nodes = [helper.make_node("Add", ["X", "C"], ["Y"], name="add")]
    nodes.extend(extra_nodes)
    g = helper.make_graph(nodes, name, [x], [y], initializer=[init] if init is not None else [])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)] + list(domain_ops),
                          producer_name="odet-tests")
    m.ir_version = 8
    return m


def save(m, fname, check=True):
    if check:
        onnx.checker.check_model(m)
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(m.SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    # one model per initializer encoding
    for dt, np_t, field in [
        (TensorProto.FLOAT, np.float32, "raw"),
        (TensorProto.FLOAT, np.float32, "typed"),
        (TensorProto.DOUBLE, np.float64, "raw"),
        (TensorProto.DOUBLE, np.float64, "typed"),
        (TensorProto.INT64, np.int64, "raw"),
        (TensorProto.INT64, np.int64, "typed"),
        (TensorProto.INT32, np.int32, "raw"),
        (TensorProto.INT32, np.int32, "typed"),
        (TensorProto.INT8, np.int8, "raw"),
        (TensorProto.INT8, np.int8, "typed"),
        (TensorProto.UINT8, np.uint8, "raw"),
        (TensorProto.UINT8, np.uint8, "typed"),
    ]:
        arr = (VALS * (1 if dt in (TensorProto.FLOAT, TensorProto.DOUBLE) else 2)).astype(np_t)
        if field == "raw":
            t = numpy_helper.from_array(arr, "C")
        else:
            t = helper.make_tensor("C", dt, arr.shape, arr.flatten().tolist(), raw=False)
        name = f"init_{TensorProto.DataType.Name(dt).lower()}_{field}"
        save(add_model(t, name, dt, dt), name + ".onnx")
    # bool initializer (And)
    b = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    for field in ("raw", "typed"):
        t = numpy_helper.from_array(b, "C") if field == "raw" else helper.make_tensor(
            "C", TensorProto.BOOL, b.shape, b.flatten().tolist(), raw=False)
        x = helper.make_tensor_value_info("X", TensorProto.BOOL, [2, 3])
        y = helper.make_tensor_value_info("Y", TensorProto.BOOL, [2, 3])
        g = helper.make_graph([helper.make_node("And", ["X", "C"], ["Y"], name="and")],
                              "bool", [x], [y], initializer=[t])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        save(m, f"init_bool_{field}.onnx")
    # external data: C stored in a side file at an offset
    ext_dir = os.path.join(OUT, "external")
    os.makedirs(ext_dir, exist_ok=True)
    payload = VALS.astype(np.float32).tobytes()
    with open(os.path.join(ext_dir, "weights.bin"), "wb") as f:
        f.write(b"\0" * 64 + payload)
    t = onnx.TensorProto()
    t.name = "C"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([2, 3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "64"), ("length", str(len(payload)))):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(add_model(t, "external"), os.path.join("external", "model.onnx"), check=False)
    # external data whose file is missing / too short
    t2 = onnx.TensorProto()
    t2.CopyFrom(t)
    t2.external_data[0].value = "missing.bin"
    save(add_model(t2, "external_missing"), os.path.join("external", "missing_file.onnx"),
         check=False)
    t3 = onnx.TensorProto()
    t3.CopyFrom(t)
    del t3.external_data[:]
    for k, v in (("location", "weights.bin"), ("offset", "4096")):
        e = t3.external_data.add()
        e.key, e.value = k, v
    save(add_model(t3, "external_short"), os.path.join("external", "short_file.onnx"),
         check=False)
    # Constant node forms
    nodes = [helper.make_node("Constant", [], ["C"], name="const",
                              value=numpy_helper.from_array(VALS.astype(np.float32)))]
    save(add_model(None, "constant_node", extra_nodes=nodes), "constant_node.onnx", check=False)
    # graph errors
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])
    cyc = helper.make_graph([helper.make_node("Relu", ["B"], ["A"], name="relu_a"),
                             helper.make_node("Add", ["X", "A"], ["B"], name="add_b"),
                             helper.make_node("Relu", ["B"], ["Y"], name="relu_y")],
                            "cycle", [x], [y])
    save(helper.make_model(cyc, opset_imports=[helper.make_opsetid("", 13)]), "cycle.onnx",
         check=False)
    dang = helper.make_graph([helper.make_node("Add", ["X", "nowhere"], ["Y"], name="add_dangling")],
                             "dangling", [x], [y])
    save(helper.make_model(dang, opset_imports=[helper.make_opsetid("", 13)]), "dangling.onnx",
         check=False)
    unk = helper.make_graph([helper.make_node("Frobnicate", ["X"], ["T"], name="frob1",
                                              domain="com.example"),
                             helper.make_node("Frobnicate", ["T"], ["U"], name="frob2",
                                              domain="com.example"),
                             helper.make_node("NoSuchOp", ["U"], ["Y"], name="nosuch")],
                            "unknown", [x], [y])
    save(helper.make_model(unk, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("com.example", 1)]),
         "unknown_ops.onnx", check=False)
    huge = onnx.TensorProto()
    huge.name = "C"
    huge.data_type = TensorProto.FLOAT
    huge.dims.extend([1 << 20, 1 << 20, 1 << 10])
    save(add_model(huge, "huge"), "huge_dim.onnx", check=False)
    neg = helper.make_tensor("C", TensorProto.FLOAT, [2, 3], VALS.flatten().tolist())
    neg.dims[0] = -2
    save(add_model(neg, "negdim"), "negative_dim.onnx", check=False)
    short = numpy_helper.from_array(VALS.astype(np.float32), "C")
    short.raw_data = short.raw_data[:10]
    save(add_model(short, "short_raw"), "short_raw.onnx", check=False)
    # truncated / empty / not protobuf
    good = open(os.path.join(OUT, "init_float_raw.onnx"), "rb").read()
    open(os.path.join(OUT, "truncated.onnx"), "wb").write(good[: len(good) // 2])
    open(os.path.join(OUT, "empty.onnx"), "wb").write(b"")
    open(os.path.join(OUT, "text.onnx"), "wb").write(b"this is not an onnx model\n" * 4)
    # metadata
    m = add_model(numpy_helper.from_array(VALS.astype(np.float32), "C"), "meta")
    helper.set_model_props(m, {"odet.arch": "centernet", "odet.class_names": "a,b,c"})
    save(m, "metadata.onnx")
    # dynamic dims
    xd = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])
    yd = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 3])
    gd = helper.make_graph([helper.make_node("Relu", ["X"], ["Y"], name="relu")], "dyn", [xd], [yd])
    save(helper.make_model(gd, opset_imports=[helper.make_opsetid("", 13)]), "dynamic_batch.onnx")
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
