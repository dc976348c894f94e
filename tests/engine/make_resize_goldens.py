#!/usr/bin/python3
"""Write Resize / Upsample / DepthToSpace / SpaceToDepth / GridSample goldens
in the ONNX node-test layout.

Each case is a directory tests/engine/data/resize/<case>/ holding model.onnx
(one node, built with onnx.helper) and test_data_set_0/input_K.pb +
output_0.pb. Expected outputs come from:
  - PyTorch: F.interpolate (nearest, nearest-exact, linear, bilinear, bicubic,
    trilinear, antialias), F.pixel_shuffle, F.grid_sample;
  - numpy: the ONNX reference interpolation shipped with onnx
    (onnx.backend.test.case.node.resize), used for the coordinate modes that
    PyTorch has no counterpart for (asymmetric linear, tf_crop_and_resize,
    exclude_outside, keep_aspect_ratio_policy, resizing N and C), and plain
    reshape/transpose for DepthToSpace DCR and SpaceToDepth.

Run with /usr/bin/python3 from anywhere; it rewrites the whole folder. Run
the cases with: build/tests/engine/conformance --root tests/engine/data/resize
"""
import os
import shutil

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from onnx.backend.test.case.node.resize import (cubic_coeffs, interpolate_nd,
                                                interpolate_nd_with_x, nearest_coeffs)
from onnx.backend.test.case.node.resize import linear_coeffs as _linear_coeffs

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "resize")
RNG = np.random.default_rng(20240611)


def tensor_type(a):
    return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype]


def save_case(name, node, inputs, output, opset):
    """inputs: list of (name, array); an empty name leaves that input absent."""
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    present = [(n, a) for n, a in inputs if n]
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, tensor_type(a), a.shape)
         for n, a in present],
        [helper.make_tensor_value_info("Y", tensor_type(output),
                                       output.shape)])
    model = helper.make_model(graph, producer_name="make_resize_goldens",
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(present):
        onnx.save_tensor(numpy_helper.from_array(a, n),
                         os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
    onnx.save_tensor(numpy_helper.from_array(output, "Y"),
                     os.path.join(d, "test_data_set_0", "output_0.pb"))


def linear_coeffs(ratio):
    # float weights even for ratio == 1 (exclude_outside divides them in place)
    return _linear_coeffs(ratio).astype(np.float64)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def torch_interp(x, **kw):
    """F.interpolate evaluated in float64 on the float32 input."""
    y = F.interpolate(torch.from_numpy(x).double(), **kw)
    return y.numpy().astype(x.dtype)


def resize_node(opset, inputs, **attrs):
    return helper.make_node("Resize", inputs, ["Y"], **attrs)


def onnx_ref(x, get_coeffs, out_size, scales, **kw):
    """ONNX reference interpolation with the output size and the coordinate
    scales given separately (keep_aspect_ratio_policy rounds the size)."""
    y = np.zeros(out_size)
    for idx in np.ndindex(*out_size):
        y[idx] = interpolate_nd_with_x(x, x.ndim, np.asarray(scales, np.float64),
                                       np.array(idx), get_coeffs, **kw)
    return y


# ------------------------------------------------------------------ Resize

def resize_cases():
    f32 = np.float32
    # PyTorch export of nearest x2: asymmetric + floor.
    x = randn(1, 4, 13, 17)
    sc = np.array([1, 1, 2, 2], f32)
    y = torch_interp(x, scale_factor=2, mode="nearest")
    save_case("resize_nearest_x2_asymmetric_floor",
              resize_node(13, ["X", "", "scales"], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
              [("X", x), ("", None), ("scales", sc)], y, 13)
    # Same through axes (opset 18).
    save_case("resize_nearest_x2_axes_opset18",
              resize_node(18, ["X", "", "scales"], mode="nearest", axes=[2, 3],
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
              [("X", x), ("", None), ("scales", np.array([2, 2], f32))], y, 18)
    # Default attributes (half_pixel + round_prefer_floor) at x2 pick the same pixels.
    save_case("resize_nearest_x2_defaults_opset11",
              resize_node(11, ["X", "roi", "scales"], mode="nearest"),
              [("X", x), ("roi", np.zeros(0, f32)), ("scales", sc)], y, 11)

    # Integer dtypes (nearest is a pure gather).
    for dt, name in ((np.int64, "int64"), (np.uint8, "uint8")):
        xi = RNG.integers(0, 200, size=(1, 3, 9, 13)).astype(dt)
        yi = F.interpolate(torch.from_numpy(xi.astype(np.float64)), scale_factor=2,
                           mode="nearest").numpy().astype(dt)
        save_case(f"resize_nearest_x2_{name}",
                  resize_node(13, ["X", "", "scales"], mode="nearest",
                              coordinate_transformation_mode="asymmetric",
                              nearest_mode="floor"),
                  [("X", xi), ("", None), ("scales", sc)], yi, 13)

    # Nearest to odd sizes: PyTorch 'nearest' (asymmetric floor), 'nearest-exact'
    # (half_pixel, round half up = round_prefer_ceil).
    x = randn(1, 3, 33, 23)
    sz = np.array([1, 3, 50, 37], np.int64)
    save_case("resize_nearest_sizes_asymmetric_floor",
              resize_node(13, ["X", "", "", "sizes"], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
              [("X", x), ("", None), ("", None), ("sizes", sz)],
              torch_interp(x, size=(50, 37), mode="nearest"), 13)
    save_case("resize_nearest_sizes_half_pixel_round_prefer_ceil",
              resize_node(13, ["X", "", "", "sizes"], mode="nearest",
                          coordinate_transformation_mode="half_pixel",
                          nearest_mode="round_prefer_ceil"),
              [("X", x), ("", None), ("", None), ("sizes", sz)],
              torch_interp(x, size=(50, 37), mode="nearest-exact"), 13)

    # Bilinear.
    x = randn(2, 3, 13, 17)
    save_case("resize_linear_x2_half_pixel",
              resize_node(13, ["X", "", "scales"], mode="linear"),
              [("X", x), ("", None), ("scales", sc)],
              torch_interp(x, scale_factor=2, mode="bilinear", align_corners=False), 13)
    save_case("resize_linear_sizes_pytorch_half_pixel",
              resize_node(13, ["X", "", "", "sizes"], mode="linear",
                          coordinate_transformation_mode="pytorch_half_pixel"),
              [("X", x), ("", None), ("", None), ("sizes", np.array([2, 3, 10, 41], np.int64))],
              torch_interp(x, size=(10, 41), mode="bilinear", align_corners=False), 13)
    save_case("resize_linear_sizes_align_corners",
              resize_node(13, ["X", "", "", "sizes"], mode="linear",
                          coordinate_transformation_mode="align_corners"),
              [("X", x), ("", None), ("", None), ("sizes", np.array([2, 3, 30, 9], np.int64))],
              torch_interp(x, size=(30, 9), mode="bilinear", align_corners=True), 13)
    xd = randn(1, 2, 7, 9, dtype=np.float64)
    save_case("resize_linear_x2_double",
              resize_node(13, ["X", "", "scales"], mode="linear"),
              [("X", xd), ("", None), ("scales", sc)],
              torch_interp(xd, scale_factor=2, mode="bilinear", align_corners=False), 13)

    # Linear over 1 and 3 axes.
    x = randn(2, 3, 29)
    save_case("resize_linear_1d_half_pixel",
              resize_node(13, ["X", "", "", "sizes"], mode="linear"),
              [("X", x), ("", None), ("", None), ("sizes", np.array([2, 3, 64], np.int64))],
              torch_interp(x, size=64, mode="linear", align_corners=False), 13)
    x = randn(1, 2, 5, 6, 7)
    save_case("resize_trilinear_sizes",
              resize_node(13, ["X", "", "", "sizes"], mode="linear"),
              [("X", x), ("", None), ("", None), ("sizes", np.array([1, 2, 9, 4, 11], np.int64))],
              torch_interp(x, size=(9, 4, 11), mode="trilinear", align_corners=False), 13)

    # Bicubic (A = -0.75, no exclusion: PyTorch clamps taps to the edge).
    x = randn(1, 4, 17, 23)
    save_case("resize_cubic_x2_half_pixel",
              resize_node(13, ["X", "", "scales"], mode="cubic"),
              [("X", x), ("", None), ("scales", sc)],
              torch_interp(x, scale_factor=2, mode="bicubic", align_corners=False), 13)
    save_case("resize_cubic_sizes_align_corners",
              resize_node(13, ["X", "", "", "sizes"], mode="cubic",
                          coordinate_transformation_mode="align_corners"),
              [("X", x), ("", None), ("", None), ("sizes", np.array([1, 4, 31, 12], np.int64))],
              torch_interp(x, size=(31, 12), mode="bicubic", align_corners=True), 13)

    # Antialias (opset 18). PyTorch's antialias filter equals ONNX's with
    # exclude_outside = 1 (taps outside the image dropped, weights renormalised);
    # its antialiased bicubic uses A = -0.5.
    x = randn(1, 2, 23, 29)
    for mode, tmode, extra in (("linear", "bilinear", {}),
                               ("cubic", "bicubic", {"cubic_coeff_a": -0.5})):
        for size in ((7, 9), (7, 40)):
            save_case(f"resize_{mode}_antialias_sizes_{size[0]}x{size[1]}",
                      resize_node(18, ["X", "", "", "sizes"], mode=mode, antialias=1,
                                  exclude_outside=1, **extra),
                      [("X", x), ("", None), ("", None),
                       ("sizes", np.array([1, 2, *size], np.int64))],
                      torch_interp(x, size=size, mode=tmode, align_corners=False,
                                   antialias=True), 18)

    # ONNX reference (numpy) for modes PyTorch lacks. Small shapes: it is slow.
    x = randn(1, 3, 4, 5)
    s = np.array([1, 2, 1.5, 0.8], f32)
    save_case("resize_linear_scales_channels_too",
              resize_node(13, ["X", "", "scales"], mode="linear"),
              [("X", x), ("", None), ("scales", s)],
              interpolate_nd(x, linear_coeffs, scale_factors=s).astype(f32), 13)
    x = randn(1, 2, 6, 7)
    s = np.array([1, 1, 0.7, 1.6], f32)
    save_case("resize_cubic_asymmetric_A_n0p5_exclude_outside",
              resize_node(13, ["X", "", "scales"], mode="cubic", cubic_coeff_a=-0.5,
                          exclude_outside=1, coordinate_transformation_mode="asymmetric"),
              [("X", x), ("", None), ("scales", s)],
              interpolate_nd(x, lambda r: cubic_coeffs(r, A=-0.5), scale_factors=s,
                             coordinate_transformation_mode="asymmetric",
                             exclude_outside=True).astype(f32), 13)
    save_case("resize_linear_asymmetric_exclude_outside",
              resize_node(13, ["X", "", "scales"], mode="linear", exclude_outside=1,
                          coordinate_transformation_mode="asymmetric"),
              [("X", x), ("", None), ("scales", s)],
              interpolate_nd(x, linear_coeffs, scale_factors=s,
                             coordinate_transformation_mode="asymmetric",
                             exclude_outside=True).astype(f32), 13)
    roi = np.array([0, 0, 0.13, -0.2, 1, 1, 0.77, 1.3], f32)
    s = np.array([1, 1, 1.5, 0.7], f32)
    save_case("resize_tf_crop_and_resize_scales_linear",
              resize_node(13, ["X", "roi", "scales"], mode="linear",
                          coordinate_transformation_mode="tf_crop_and_resize",
                          extrapolation_value=3.5),
              [("X", x), ("roi", roi), ("scales", s)],
              interpolate_nd(x, linear_coeffs, scale_factors=s, roi=roi,
                             coordinate_transformation_mode="tf_crop_and_resize",
                             extrapolation_value=3.5).astype(f32), 13)
    sz = np.array([1, 2, 4, 8], np.int64)
    save_case("resize_tf_crop_and_resize_sizes_nearest_ceil",
              resize_node(13, ["X", "roi", "", "sizes"], mode="nearest", nearest_mode="ceil",
                          coordinate_transformation_mode="tf_crop_and_resize",
                          extrapolation_value=-1.0),
              [("X", x), ("roi", roi), ("", None), ("sizes", sz)],
              interpolate_nd(x, lambda r: nearest_coeffs(r, mode="ceil"), output_size=sz,
                             roi=roi, coordinate_transformation_mode="tf_crop_and_resize",
                             extrapolation_value=-1.0).astype(f32), 13)
    save_case("resize_tf_crop_and_resize_sizes_cubic",
              resize_node(13, ["X", "roi", "", "sizes"], mode="cubic",
                          coordinate_transformation_mode="tf_crop_and_resize"),
              [("X", x), ("roi", roi), ("", None), ("sizes", sz)],
              interpolate_nd(x, cubic_coeffs, output_size=sz, roi=roi,
                             coordinate_transformation_mode="tf_crop_and_resize"
                             ).astype(f32), 13)
    x3 = randn(3, 4, 5)
    sz = np.array([2, 9, 3], np.int64)
    save_case("resize_nearest_rank3_align_corners_round_prefer_ceil",
              resize_node(13, ["X", "", "", "sizes"], mode="nearest",
                          nearest_mode="round_prefer_ceil",
                          coordinate_transformation_mode="align_corners"),
              [("X", x3), ("", None), ("", None), ("sizes", sz)],
              interpolate_nd(x3, lambda r: nearest_coeffs(r, mode="round_prefer_ceil"),
                             output_size=sz,
                             coordinate_transformation_mode="align_corners").astype(f32), 13)

    # keep_aspect_ratio_policy (opset 18): one scale for all listed axes,
    # sizes rounded half up.
    x = randn(1, 2, 10, 15)
    for policy, pick in (("not_larger", min), ("not_smaller", max)):
        scale = pick(20 / 10, 20 / 15)
        out = [1, 2, int(scale * 10 + 0.5), int(scale * 15 + 0.5)]
        save_case(f"resize_linear_keep_aspect_{policy}",
                  resize_node(18, ["X", "", "", "sizes"], mode="linear", axes=[2, 3],
                              keep_aspect_ratio_policy=policy),
                  [("X", x), ("", None), ("", None), ("sizes", np.array([20, 20], np.int64))],
                  onnx_ref(x, linear_coeffs, out, [1, 1, scale, scale]).astype(f32), 18)

    # half_pixel_symmetric (opset 19), 1-D linear by hand: in 5, scale 0.7 -> 3
    # outputs; x_ori = c * (1 - out / (s * in)) + (j + 0.5) / s - 0.5, c = in / 2.
    x = randn(1, 1, 1, 5)
    s, n_in, n_out = np.float32(0.7), 5, 3
    xo = n_in / 2 * (1 - n_out / (float(s) * n_in)) + (np.arange(n_out) + 0.5) / float(s) - 0.5
    i0 = np.clip(np.floor(xo).astype(int), 0, n_in - 1)
    i1 = np.clip(np.floor(xo).astype(int) + 1, 0, n_in - 1)
    w = xo - np.floor(xo)
    row = x[0, 0, 0].astype(np.float64)
    y = ((1 - w) * row[i0] + w * row[i1]).reshape(1, 1, 1, n_out).astype(f32)
    save_case("resize_linear_half_pixel_symmetric_opset19",
              resize_node(19, ["X", "", "scales"], mode="linear",
                          coordinate_transformation_mode="half_pixel_symmetric"),
              [("X", x), ("", None), ("scales", np.array([1, 1, 1, s], f32))], y, 19)


def legacy_cases():
    """Resize-10 and Upsample: asymmetric coordinates; nearest rounds down when
    upsampling, up when downsampling."""
    f32 = np.float32
    x = randn(1, 2, 4, 5)
    sc = np.array([1, 1, 2, 3], f32)
    y = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
    up7 = helper.make_node("Upsample", ["X"], ["Y"], mode="nearest", scales=[1.0, 1.0, 2.0, 3.0])
    save_case("upsample7_nearest_attr_scales", up7, [("X", x)], y, 7)
    save_case("resize10_nearest_x2x3",
              helper.make_node("Resize", ["X", "scales"], ["Y"], mode="nearest"),
              [("X", x), ("scales", sc)], y, 10)
    lin = interpolate_nd(x, linear_coeffs, scale_factors=np.array([1, 1, 2, 2.5], f32),
                         coordinate_transformation_mode="asymmetric").astype(f32)
    save_case("upsample7_linear_attr_scales",
              helper.make_node("Upsample", ["X"], ["Y"], mode="linear",
                               scales=[1.0, 1.0, 2.0, 2.5]),
              [("X", x)], lin, 7)
    save_case("upsample9_linear_scales_input",
              helper.make_node("Upsample", ["X", "scales"], ["Y"], mode="linear"),
              [("X", x), ("scales", np.array([1, 1, 2, 2.5], f32))], lin, 9)
    save_case("resize10_linear",
              helper.make_node("Resize", ["X", "scales"], ["Y"], mode="linear"),
              [("X", x), ("scales", np.array([1, 1, 2, 2.5], f32))], lin, 10)
    # Downsampling nearest: index = min(ceil(j / s), in - 1).
    x = randn(1, 1, 5, 9)
    s = np.array([1, 1, 0.6, 0.5], f32)
    oh, ow = int(5 * s[2]), int(9 * s[3])
    iy = np.minimum(np.ceil(np.arange(oh) / np.float64(s[2])), 4).astype(int)
    ix = np.minimum(np.ceil(np.arange(ow) / np.float64(s[3])), 8).astype(int)
    save_case("resize10_nearest_downsample",
              helper.make_node("Resize", ["X", "scales"], ["Y"], mode="nearest"),
              [("X", x), ("scales", s)], x[:, :, iy][:, :, :, ix], 10)


# ------------------------------------------------------- DepthToSpace / S2D

def d2s_dcr(x, b):
    n, c, h, w = x.shape
    t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return t.reshape(n, c // (b * b), h * b, w * b)


def s2d(x, b):
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return t.reshape(n, c * b * b, h // b, w // b)


def space_depth_cases():
    for shape, b in (((2, 18, 5, 7), 3), ((1, 16, 6, 5), 2)):
        x = randn(*shape)
        tag = f"b{b}_{shape[1]}x{shape[2]}x{shape[3]}"
        crd = F.pixel_shuffle(torch.from_numpy(x), b).numpy()
        save_case(f"depthtospace_crd_{tag}",
                  helper.make_node("DepthToSpace", ["X"], ["Y"], blocksize=b, mode="CRD"),
                  [("X", x)], crd, 13)
        save_case(f"depthtospace_dcr_{tag}",
                  helper.make_node("DepthToSpace", ["X"], ["Y"], blocksize=b, mode="DCR"),
                  [("X", x)], d2s_dcr(x, b), 13)
    x = RNG.integers(0, 255, size=(1, 8, 3, 4)).astype(np.uint8)
    save_case("depthtospace_opset1_uint8",
              helper.make_node("DepthToSpace", ["X"], ["Y"], blocksize=2),
              [("X", x)], d2s_dcr(x, 2), 1)
    x = RNG.integers(-1000, 1000, size=(2, 4, 3, 3)).astype(np.int64)
    save_case("depthtospace_crd_int64",
              helper.make_node("DepthToSpace", ["X"], ["Y"], blocksize=2, mode="CRD"),
              [("X", x)], F.pixel_shuffle(torch.from_numpy(x), 2).numpy(), 13)
    for shape, b in (((2, 5, 9, 12), 3), ((1, 4, 8, 10), 2)):
        x = randn(*shape)
        y = s2d(x, b)
        # PyTorch cross-check: pixel_unshuffle is the CRD channel order.
        pu = F.pixel_unshuffle(torch.from_numpy(x), b).numpy()
        n, c = shape[:2]
        assert np.array_equal(
            y.reshape(n, b * b, c, *y.shape[2:]).transpose(0, 2, 1, 3, 4).reshape(pu.shape), pu)
        save_case(f"spacetodepth_b{b}_{shape[1]}x{shape[2]}x{shape[3]}",
                  helper.make_node("SpaceToDepth", ["X"], ["Y"], blocksize=b),
                  [("X", x)], y, 13)
    x = RNG.integers(-128, 127, size=(1, 3, 4, 6)).astype(np.int8)
    save_case("spacetodepth_opset1_int8",
              helper.make_node("SpaceToDepth", ["X"], ["Y"], blocksize=2),
              [("X", x)], s2d(x, 2), 1)


# -------------------------------------------------------------- GridSample

def grid_sample_ref(x, grid, mode, padding, align):
    xt, gt = torch.from_numpy(x), torch.from_numpy(grid)
    if mode != "nearest":  # nearest rounds in the element type, like odet
        xt, gt = xt.double(), gt.double()
    y = F.grid_sample(xt, gt, mode=mode, padding_mode=padding, align_corners=bool(align))
    return y.numpy().astype(x.dtype)


def grid_sample_cases():
    x = randn(2, 3, 7, 9)
    grid = RNG.uniform(-1.3, 1.3, size=(2, 5, 6, 2)).astype(np.float32)
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            for align in (0, 1):
                save_case(f"gridsample_{mode}_{padding}_align{align}",
                          helper.make_node("GridSample", ["X", "grid"], ["Y"], mode=mode,
                                           padding_mode=padding, align_corners=align),
                          [("X", x), ("grid", grid)],
                          grid_sample_ref(x, grid, mode, padding, align), 16)
    x = randn(1, 4, 10, 12)
    grid = RNG.uniform(-1.1, 1.1, size=(1, 20, 20, 2)).astype(np.float32)
    save_case("gridsample_bilinear_zeros_20x20",
              helper.make_node("GridSample", ["X", "grid"], ["Y"]),
              [("X", x), ("grid", grid)], grid_sample_ref(x, grid, "bilinear", "zeros", 0), 16)
    x = randn(1, 2, 6, 5, dtype=np.float64)
    grid = RNG.uniform(-1.5, 1.5, size=(1, 4, 7, 2))
    save_case("gridsample_bicubic_reflection_double",
              helper.make_node("GridSample", ["X", "grid"], ["Y"], mode="bicubic",
                               padding_mode="reflection"),
              [("X", x), ("grid", grid)], grid_sample_ref(x, grid, "bicubic", "reflection", 0),
              16)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    resize_cases()
    legacy_cases()
    space_depth_cases()
    grid_sample_cases()
    print(f"wrote {len(os.listdir(OUT))} cases to {OUT}")


if __name__ == "__main__":
    main()
