#!/usr/bin/python3
"""Write DeformConv goldens in the ONNX node-test layout.

ONNX 1.12 ships no node tests for DeformConv (opset 19), so the expected
outputs come from torchvision.ops.deform_conv2d. Each case is a directory
tests/engine/data/deform/<case>/ holding model.onnx (one node, built with
onnx.helper) and test_data_set_0/input_K.pb + output_0.pb.

Cases cover the ONNX op (default domain) and the mmcv/mmdeploy custom ops
MMCVDeformConv2d and MMCVModulatedDeformConv2d, which share the offset layout.

Run from anywhere with /usr/bin/python3; it rewrites the whole folder.
"""
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torchvision
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "deform")


def save_case(name, node, inputs, output, opsets):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in inputs],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, output.shape)])
    model = helper.make_model(
        graph, producer_name="make_deform_goldens",
        opset_imports=[helper.make_opsetid(dom, ver) for dom, ver in opsets])
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(inputs):
        onnx.save_tensor(numpy_helper.from_array(a, n),
                         os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
    onnx.save_tensor(numpy_helper.from_array(output, "Y"),
                     os.path.join(d, "test_data_set_0", "output_0.pb"))


def reference(x, w, offset, b, mask, stride, pads, dil):
    """torchvision deform_conv2d with ONNX pads [top, left, bottom, right].

    torchvision pads symmetrically; asymmetric pads pad the input with zeros
    first, which is the same thing: samples outside the image read zeros."""
    xt = torch.from_numpy(x)
    top, left, bottom, right = pads
    if (top, left) == (bottom, right):
        padding = (top, left)
    else:
        xt = F.pad(xt, (left, right, top, bottom))
        padding = (0, 0)
    y = torchvision.ops.deform_conv2d(
        xt, torch.from_numpy(offset), torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        stride=tuple(stride), padding=padding, dilation=tuple(dil),
        mask=None if mask is None else torch.from_numpy(mask))
    return y.numpy().astype(np.float32)


def make(name, rng, n=1, c=4, h=7, w=6, m=3, k=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1),
         dil=(1, 1), group=1, offset_group=1, with_mask=False, with_bias=False,
         offset_scale=1.5, variant="onnx", opset=19):
    eh, ew = (k[0] - 1) * dil[0] + 1, (k[1] - 1) * dil[1] + 1
    oh = (h + pads[0] + pads[2] - eh) // stride[0] + 1
    ow = (w + pads[1] + pads[3] - ew) // stride[1] + 1
    kk = k[0] * k[1]
    f32 = np.float32
    x = rng.standard_normal((n, c, h, w)).astype(f32)
    wt = rng.standard_normal((m, c // group, k[0], k[1])).astype(f32)
    offset = (offset_scale * rng.standard_normal((n, 2 * offset_group * kk, oh, ow))).astype(f32)
    mask = rng.uniform(0.0, 1.0, (n, offset_group * kk, oh, ow)).astype(f32) if with_mask else None
    b = rng.standard_normal(m).astype(f32) if with_bias else None
    y = reference(x, wt, offset, b, mask, stride, pads, dil)

    if variant == "onnx":
        inputs = [("X", x), ("W", wt), ("offset", offset)]
        names = ["X", "W", "offset"]
        if b is not None or mask is not None:
            if b is not None:
                inputs.append(("B", b))
            names.append("B" if b is not None else "")
        if mask is not None:
            inputs.append(("mask", mask))
            names.append("mask")
        node = helper.make_node("DeformConv", names, ["Y"], kernel_shape=list(k),
                                strides=list(stride), pads=list(pads), dilations=list(dil),
                                group=group, offset_group=offset_group)
        save_case(name, node, inputs, y, [("", opset)])
        return
    # mmcv custom ops: symmetric padding as [ph, pw], attributes as exported by mmcv.
    assert (pads[0], pads[1]) == (pads[2], pads[3])
    attrs = dict(stride=list(stride), padding=[pads[0], pads[1]], dilation=list(dil),
                 groups=group, deform_groups=offset_group)
    domain = "mmdeploy" if variant.endswith("_mmdeploy") else "mmcv"
    if variant.startswith("mmcv_modulated"):
        assert mask is not None
        inputs = [("input", x), ("offset", offset), ("mask", mask), ("weight", wt)]
        if b is not None:
            inputs.append(("bias", b))
        node = helper.make_node("MMCVModulatedDeformConv2d", [n for n, _ in inputs], ["Y"],
                                domain=domain, **attrs)
    else:
        assert mask is None and b is None
        inputs = [("input", x), ("offset", offset), ("weight", wt)]
        node = helper.make_node("MMCVDeformConv2d", [n for n, _ in inputs], ["Y"],
                                domain=domain, bias=0, im2col_step=32, **attrs)
    save_case(name, node, inputs, y, [("", 11), (domain, 1)])


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = np.random.default_rng(20240519)
    make("deform_basic", rng)
    make("deform_mask_bias", rng, with_mask=True, with_bias=True)
    make("deform_mask_no_bias", rng, with_mask=True)
    make("deform_offset_group2", rng, c=4, offset_group=2, with_mask=True, with_bias=True)
    make("deform_group2", rng, c=4, m=6, group=2, with_bias=True)
    make("deform_group2_offset_group4", rng, c=8, m=4, group=2, offset_group=4, with_mask=True)
    make("deform_stride2", rng, h=9, w=8, stride=(2, 2), with_mask=True)
    make("deform_dilation2", rng, h=9, w=9, dil=(2, 2), pads=(2, 2, 2, 2))
    make("deform_no_pads", rng, pads=(0, 0, 0, 0), with_bias=True)
    make("deform_asym_pads", rng, pads=(0, 2, 1, 0), with_mask=True)
    make("deform_outside", rng, h=5, w=5, offset_scale=6.0, with_mask=True, with_bias=True)
    make("deform_nonsquare", rng, n=2, c=3, h=6, w=11, m=5, k=(2, 3), stride=(1, 2),
         pads=(1, 0, 1, 0), dil=(2, 1), with_mask=True, with_bias=True)
    make("deform_1x1", rng, k=(1, 1), pads=(0, 0, 0, 0), with_bias=True)
    make("deform_opset17", rng, with_mask=True, opset=17)
    make("mmcv_deform", rng, c=4, offset_group=2, variant="mmcv")
    make("mmcv_deform_mmdeploy", rng, stride=(2, 2), variant="mmcv_mmdeploy")
    make("mmcv_modulated", rng, with_mask=True, with_bias=True, variant="mmcv_modulated")
    make("mmcv_modulated_no_bias", rng, c=4, m=4, group=2, offset_group=2, with_mask=True,
         variant="mmcv_modulated")
    make("mmcv_modulated_mmdeploy", rng, dil=(2, 2), pads=(2, 2, 2, 2), h=8, w=8, with_mask=True,
         with_bias=True, variant="mmcv_modulated_mmdeploy")


if __name__ == "__main__":
    main()
