#!/usr/bin/python3
"""Goldens for odet's image loading and preprocessing (tests/models/).

Run with Debian's interpreter (numpy, PIL, torch/torchvision, python3-opencv):

    /usr/bin/python3 tests/models/make_preprocess_goldens.py

Writes into tests/models/data/:

* test images (PNG, deterministic): scene_640x427, grad_97x61, checker_96x60,
  pixel_1x1, gray_33x17 (8-bit grayscale), rgba_31x23, rgb16_19x13 (16-bit),
  photo_64x48.jpg, and the raw RGB bytes they must decode to (*.rgb; the JPEG
  as PIL/libjpeg decodes it, a tolerance reference for stb's decoder);
* broken files for the loader: empty.png (0 bytes), text.png (a text file),
  truncated.jpg, truncated.png, truncated.bmp, huge_100000x100000.png and
  wide_20000x10.png (valid IHDR + CRC, no pixel data);
* gold_*.png: 8-bit outputs of cv2.warpAffine / cv2.resize / PIL resize;
* gold_*.f32: float32 [1,3,H,W] tensors of the full reference pipelines
  (CenterNet pre_process, mmdet Resize+Normalize+Pad, DETR T.Resize+ToTensor+
  Normalize, YOLO letterbox);
* manifest.txt: one case per line (see the comments written at its top).
"""
import os
import struct
import zlib

import numpy as np
import cv2
import torch
import torchvision.transforms.functional as TF
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")


# --------------------------------------------------------------------------
# Test images
# --------------------------------------------------------------------------

def make_scene(w, h, seed):
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = 255.0 * x / max(w - 1, 1)
    img[..., 1] = 255.0 * y / max(h - 1, 1)
    img[..., 2] = 127.5 + 127.5 * np.sin(x / 7.0 + y / 11.0)
    img = img.astype(np.uint8)
    # sharp shapes
    for _ in range(max(3, (w * h) // 20000)):
        cx, cy = rs.randint(0, w), rs.randint(0, h)
        r = rs.randint(2, max(3, min(w, h) // 4))
        col = rs.randint(0, 256, 3)
        m = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
        img[m] = col
    for _ in range(max(3, (w * h) // 20000)):
        x0, y0 = rs.randint(0, w), rs.randint(0, h)
        x1, y1 = min(w, x0 + rs.randint(1, w // 3 + 2)), min(h, y0 + rs.randint(1, h // 3 + 2))
        img[y0:y1, x0:x1] = rs.randint(0, 256, 3)
    # 1-px lines and a checkerboard (high frequencies)
    img[::9, :, 1] = 255
    img[:, ::13, 0] = 0
    cw, ch = max(1, w // 5), max(1, h // 5)
    chk = ((x[:ch, :cw].astype(int) + y[:ch, :cw].astype(int)) % 2 * 255).astype(np.uint8)
    img[:ch, w - cw:, 2] = chk
    # a noise patch
    nw, nh = max(1, w // 6), max(1, h // 6)
    img[h - nh:, :nw] = rs.randint(0, 256, (nh, nw, 3))
    return img


def save_png(name, arr, mode=None):
    Image.fromarray(arr, mode).save(os.path.join(OUT, name), optimize=True)


def png_chunk(tag, data):
    c = struct.pack(">I", len(data)) + tag + data
    return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(w, h, bit_depth, color_type, raw_rows):
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    if raw_rows is not None:
        out += png_chunk(b"IDAT", zlib.compress(raw_rows, 9))
    return out + png_chunk(b"IEND", b"")


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def load_rgb(name):
    return np.array(Image.open(os.path.join(OUT, name)).convert("RGB"))


# --------------------------------------------------------------------------
# Reference code
# --------------------------------------------------------------------------

# CenterNet src/lib/utils/image.py
def get_dir(src_point, rot_rad):
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    src_result = [0, 0]
    src_result[0] = src_point[0] * cs - src_point[1] * sn
    src_result[1] = src_point[0] * sn + src_point[1] * cs
    return src_result


def get_3rd_point(a, b):
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_affine_transform(center, scale, rot, output_size,
                         shift=np.array([0, 0], dtype=np.float32), inv=0):
    if not isinstance(scale, np.ndarray) and not isinstance(scale, list):
        scale = np.array([scale, scale], dtype=np.float32)
    scale_tmp = scale
    src_w = scale_tmp[0]
    dst_w = output_size[0]
    dst_h = output_size[1]
    rot_rad = np.pi * rot / 180
    src_dir = get_dir([0, src_w * -0.5], rot_rad)
    dst_dir = np.array([0, dst_w * -0.5], np.float32)
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0, :] = center + scale_tmp * shift
    src[1, :] = center + src_dir + scale_tmp * shift
    dst[0, :] = [dst_w * 0.5, dst_h * 0.5]
    dst[1, :] = np.array([dst_w * 0.5, dst_h * 0.5], np.float32) + dst_dir
    src[2:, :] = get_3rd_point(src[0, :], src[1, :])
    dst[2:, :] = get_3rd_point(dst[0, :], dst[1, :])
    if inv:
        trans = cv2.getAffineTransform(np.float32(dst), np.float32(src))
    else:
        trans = cv2.getAffineTransform(np.float32(src), np.float32(dst))
    return trans


CENTERNET_MEAN = np.array([0.40789654, 0.44719302, 0.47026115], np.float32)  # BGR
CENTERNET_STD = np.array([0.28863828, 0.27408164, 0.27809835], np.float32)


# CenterNet src/lib/detectors/base_detector.py pre_process (scale 1)
def centernet_pre_process(image_bgr, input_w, input_h, fix_res=True, pad=31):
    height, width = image_bgr.shape[0:2]
    new_height, new_width = int(height * 1.0), int(width * 1.0)
    if fix_res:
        inp_height, inp_width = input_h, input_w
        c = np.array([new_width / 2., new_height / 2.], dtype=np.float32)
        s = max(height, width) * 1.0
    else:
        inp_height = (new_height | pad) + 1
        inp_width = (new_width | pad) + 1
        c = np.array([new_width // 2, new_height // 2], dtype=np.float32)
        s = np.array([inp_width, inp_height], dtype=np.float32)
    trans_input = get_affine_transform(c, s, 0, [inp_width, inp_height])
    resized_image = cv2.resize(image_bgr, (new_width, new_height))
    inp_image = cv2.warpAffine(resized_image, trans_input, (inp_width, inp_height),
                               flags=cv2.INTER_LINEAR)
    mean = CENTERNET_MEAN.reshape(1, 1, 3)
    std = CENTERNET_STD.reshape(1, 1, 3)
    inp_image = ((inp_image / 255. - mean) / std).astype(np.float32)
    return inp_image.transpose(2, 0, 1).reshape(1, 3, inp_height, inp_width)


# mmcv.image.geometric rescale_size / _scale_size
def mmcv_rescale_size(old_size, scale):
    w, h = old_size
    max_long_edge = max(scale)
    max_short_edge = min(scale)
    scale_factor = min(max_long_edge / max(h, w), max_short_edge / min(h, w))
    return int(w * float(scale_factor) + 0.5), int(h * float(scale_factor) + 0.5)


MMDET_MEAN = np.array([123.675, 116.28, 103.53])
MMDET_STD = np.array([58.395, 57.12, 57.375])


# mmdet test pipeline: LoadImage (BGR) -> Resize(keep_ratio) -> Normalize(to_rgb)
# -> Pad(size_divisor) -> ImageToTensor
def mmdet_pipeline(image_bgr, img_scale, size_divisor):
    h, w = image_bgr.shape[:2]
    new_size = mmcv_rescale_size((w, h), img_scale)
    img = cv2.resize(image_bgr, new_size, interpolation=cv2.INTER_LINEAR)
    img = img.copy().astype(np.float32)  # mmcv.imnormalize
    mean = np.float64(MMDET_MEAN.reshape(1, -1))
    stdinv = 1 / np.float64(MMDET_STD.reshape(1, -1))
    cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean, img)
    cv2.multiply(img, stdinv, img)
    ph = int(np.ceil(img.shape[0] / size_divisor)) * size_divisor  # mmcv.impad_to_multiple
    pw = int(np.ceil(img.shape[1] / size_divisor)) * size_divisor
    padded = np.zeros((ph, pw, 3), np.float32)
    padded[:img.shape[0], :img.shape[1]] = img
    return np.ascontiguousarray(padded.transpose(2, 0, 1))[None]


# DETR datasets/transforms.py get_size_with_aspect_ratio
def detr_size(image_size, size, max_size=None):
    w, h = image_size
    if max_size is not None:
        min_original_size = float(min((w, h)))
        max_original_size = float(max((w, h)))
        if max_original_size / min_original_size * size > max_size:
            size = int(round(max_size * min_original_size / max_original_size))
    if (w <= h and w == size) or (h <= w and h == size):
        return (h, w)
    if w < h:
        ow = size
        oh = int(size * h / w)
    else:
        oh = size
        ow = int(size * w / h)
    return (oh, ow)


DETR_MEAN = [0.485, 0.456, 0.406]
DETR_STD = [0.229, 0.224, 0.225]


def detr_pipeline(pil_rgb, size, max_size):
    oh, ow = detr_size(pil_rgb.size, size, max_size)
    img = TF.resize(pil_rgb, [oh, ow])
    t = TF.to_tensor(img)
    t = TF.normalize(t, mean=DETR_MEAN, std=DETR_STD)
    return t.numpy()[None]


# YOLO letterbox (ultralytics utils/augmentations.py, auto=False)
def letterbox(im, new_shape, color=(114, 114, 114), scaleup=True):
    shape = im.shape[:2]
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    dw /= 2
    dh /= 2
    if shape[::-1] != new_unpad:
        im = cv2.resize(im, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT, value=color)


def hexs(v):
    return " ".join(float(x).hex() for x in np.asarray(v, np.float64).ravel())


# --------------------------------------------------------------------------

def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    man = ["# odet preprocessing goldens, written by make_preprocess_goldens.py",
           "# warp INPUT OUT_W OUT_H M0..M5(hex) BORDER_R G B GOLD.png   cv2.warpAffine INTER_LINEAR",
           "# resize_cv INPUT OUT_W OUT_H GOLD.png                      cv2.resize INTER_LINEAR",
           "# resize_pil INPUT OUT_W OUT_H GOLD.png                     PIL resize BILINEAR",
           "# affine CX CY S0 S1 ROT OUT_W OUT_H INV M0..M5(hex)         CenterNet get_affine_transform",
           "# size_detr W H SIZE MAX OUT_W OUT_H    (MAX 0 = None)",
           "# size_mmcv W H SCALE0 SCALE1 OUT_W OUT_H",
           "# pipe INPUT GOLD.f32 TENSOR_W TENSOR_H key=value...         float32 [1,3,H,W]"]

    # ---- images
    scene = make_scene(640, 427, 1)
    save_png("scene_640x427.png", scene)
    grad = make_scene(97, 61, 2)
    save_png("grad_97x61.png", grad)
    yy, xx = np.mgrid[0:60, 0:96]
    checker = np.stack([(xx * 37 + yy * 11) % 256, ((xx // 3 + yy // 2) % 2) * 255,
                        (xx * yy) % 256], -1).astype(np.uint8)
    save_png("checker_96x60.png", checker)
    save_png("pixel_1x1.png", np.array([[[200, 100, 50]]], np.uint8))
    gray = make_scene(33, 17, 3)[..., 1].copy()
    save_png("gray_33x17.png", gray, "L")
    rs = np.random.RandomState(4)
    rgba = rs.randint(0, 256, (23, 31, 4)).astype(np.uint8)
    save_png("rgba_31x23.png", rgba, "RGBA")
    rgb16 = rs.randint(0, 65536, (13, 19, 3)).astype(">u2")
    write("rgb16_19x13.png", png_bytes(19, 13, 16, 2, b"".join(
        b"\x00" + rgb16[y].tobytes() for y in range(13))))
    # expected decodes (raw RGB bytes): 16-bit keeps the high byte, alpha is dropped
    write("rgb16_19x13.rgb", (rgb16.astype(np.uint16) >> 8).astype(np.uint8).tobytes())
    write("rgba_31x23.rgb", np.ascontiguousarray(rgba[..., :3]).tobytes())
    Image.fromarray(make_scene(64, 48, 5)).save(os.path.join(OUT, "photo_64x48.jpg"), quality=90)
    write("photo_64x48_pil.rgb", load_rgb("photo_64x48.jpg").tobytes())

    # ---- broken files
    write("empty.png", b"")
    write("text.png", b"This is a text file, not an image.\nIt has two lines.\n")
    jpg = open(os.path.join(OUT, "photo_64x48.jpg"), "rb").read()
    write("truncated.jpg", jpg[: len(jpg) * 6 // 10])
    pngb = open(os.path.join(OUT, "grad_97x61.png"), "rb").read()
    write("truncated.png", pngb[: len(pngb) * 7 // 10])
    import io
    bio = io.BytesIO()
    Image.fromarray(grad).save(bio, "BMP")
    write("truncated.bmp", bio.getvalue()[: len(bio.getvalue()) // 2])
    write("huge_100000x100000.png", png_bytes(100000, 100000, 8, 2, None))
    write("wide_20000x10.png", png_bytes(20000, 10, 8, 2, None))

    # The loader is stb_image: check that our PNGs decode exactly as PIL does.
    gold_inputs = {n: load_rgb(n) for n in ["scene_640x427.png", "grad_97x61.png",
                                             "checker_96x60.png", "pixel_1x1.png",
                                             "gray_33x17.png"]}
    pixel = gold_inputs["pixel_1x1.png"]

    # ---- warpAffine
    n_gold = [0]

    def gold_png(prefix, arr):
        n_gold[0] += 1
        name = "gold_%02d_%s.png" % (n_gold[0], prefix)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        save_png(name, np.ascontiguousarray(arr))
        return name

    def warp_case(inp, img, m, ow, oh, border=(0, 0, 0)):
        out = cv2.warpAffine(img, m, (ow, oh), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT,
                             borderValue=border if img.ndim == 3 else border[0])
        g = gold_png("warp", out)
        man.append("warp %s %d %d %s %d %d %d %s" % (inp, ow, oh, hexs(m), *border, g))

    def cn_matrix(w, h, ow, oh):
        c = np.array([w / 2., h / 2.], dtype=np.float32)
        return get_affine_transform(c, max(h, w) * 1.0, 0, [ow, oh])

    warp_case("scene_640x427.png", scene, cn_matrix(640, 427, 384, 384), 384, 384)
    warp_case("grad_97x61.png", grad, cn_matrix(97, 61, 128, 96), 128, 96)
    rot = cv2.getRotationMatrix2D((40.3, 27.7), 30.0, 1.37)
    warp_case("grad_97x61.png", grad, rot, 80, 60, (10, 200, 30))
    up = np.array([[3.3, 0.0, -41.25], [0.0, 3.3, -17.6]])
    warp_case("grad_97x61.png", grad, up, 100, 70, (255, 255, 255))
    flip = np.array([[-0.75, 0.12, 90.0], [0.05, -0.9, 58.3]])
    warp_case("grad_97x61.png", grad, flip, 90, 64, (7, 8, 9))
    warp_case("pixel_1x1.png", pixel, cn_matrix(1, 1, 7, 5), 7, 5)
    warp_case("gray_33x17.png", gray, cn_matrix(33, 17, 40, 40), 40, 40, (60, 60, 60))
    warp_case("checker_96x60.png", checker, np.array([[1.0, 0, 0.5], [0, 1.0, -0.25]]), 96, 60)

    # ---- cv2.resize
    def resize_cv_case(inp, img, ow, oh):
        out = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_LINEAR)
        man.append("resize_cv %s %d %d %s" % (inp, ow, oh, gold_png("rcv", out)))

    resize_cv_case("scene_640x427.png", scene, 333, 222)
    mw, mh = mmcv_rescale_size((97, 61), (300, 200))
    resize_cv_case("grad_97x61.png", grad, mw, mh)
    resize_cv_case("checker_96x60.png", checker, 48, 30)
    resize_cv_case("grad_97x61.png", grad, 50, 31)
    resize_cv_case("grad_97x61.png", grad, 97, 61)
    resize_cv_case("grad_97x61.png", grad, 97, 30)
    resize_cv_case("grad_97x61.png", grad, 211, 61)
    resize_cv_case("pixel_1x1.png", pixel, 5, 3)
    resize_cv_case("gray_33x17.png", gray, 70, 9)
    resize_cv_case("checker_96x60.png", checker, 31, 127)

    # ---- PIL resize
    def resize_pil_case(inp, img, ow, oh):
        out = np.array(Image.fromarray(img).resize((ow, oh), Image.BILINEAR))
        man.append("resize_pil %s %d %d %s" % (inp, ow, oh, gold_png("rpil", out)))

    oh, ow = detr_size((640, 427), 200, 333)
    resize_pil_case("scene_640x427.png", scene, ow, oh)
    resize_pil_case("scene_640x427.png", scene, 100, 67)
    resize_pil_case("grad_97x61.png", grad, 150, 94)
    resize_pil_case("grad_97x61.png", grad, 97, 30)
    resize_pil_case("grad_97x61.png", grad, 40, 61)
    resize_pil_case("grad_97x61.png", grad, 97, 61)
    resize_pil_case("pixel_1x1.png", pixel, 3, 2)
    resize_pil_case("gray_33x17.png", gray, 20, 40)
    resize_pil_case("checker_96x60.png", checker, 13, 200)

    # ---- get_affine_transform
    for (c, s, r, osz) in [((320.0, 213.5), 640.0, 0, (512, 512)),
                           ((48.5, 30.5), 97.0, 0, (128, 96)),
                           ((48.0, 30.0), (128.0, 64.0), 0, (128, 64)),
                           ((0.5, 0.5), 1.0, 0, (7, 5)),
                           ((400.0, 300.0), 800.0, 0, (128, 128)),
                           ((1003.5, 766.25), 2007.0, 0, (200, 152)),
                           ((48.5, 30.5), 97.0, 17.5, (128, 96))]:
        for inv in (0, 1):
            ca = np.array(c, dtype=np.float32)
            sa = np.array(s, dtype=np.float32) if isinstance(s, tuple) else s
            m = get_affine_transform(ca, sa, r, list(osz), inv=inv)
            s2 = s if isinstance(s, tuple) else (s, s)
            man.append("affine %s %s %s %s %s %d %d %d %s" % (
                float(np.float32(c[0])).hex(), float(np.float32(c[1])).hex(),
                float(np.float32(s2[0])).hex(), float(np.float32(s2[1])).hex(),
                float(r).hex(), osz[0], osz[1], inv, hexs(m)))

    # ---- size rules
    for (w, h, size, mx) in [(640, 427, 800, 1333), (427, 640, 800, 1333), (1920, 1080, 800, 1333),
                             (1080, 1920, 800, 1333), (800, 600, 800, 1333), (600, 800, 800, 1333),
                             (97, 61, 48, 80), (3000, 100, 800, 1333), (100, 3000, 800, 1333),
                             (640, 480, 800, 0), (1, 1, 800, 1333), (1333, 800, 800, 1333),
                             (2001, 1000, 800, 1600), (500, 333, 600, 1000), (511, 337, 401, 999)]:
        oh, ow = detr_size((w, h), size, mx if mx else None)
        man.append("size_detr %d %d %d %d %d %d" % (w, h, size, mx, ow, oh))
    for (w, h, s) in [(640, 427, (1333, 800)), (427, 640, (1333, 800)), (1920, 1080, (1333, 800)),
                      (97, 61, (300, 200)), (97, 61, (66, 40)), (1, 1, (1333, 800)),
                      (3000, 100, (1333, 800)), (500, 333, (800, 1333)), (1333, 800, (1333, 800)),
                      (513, 257, (1216, 800))]:
        ow, oh = mmcv_rescale_size((w, h), s)
        man.append("size_mmcv %d %d %d %d %d %d" % (w, h, s[0], s[1], ow, oh))

    # ---- full pipelines (float32 tensors)
    n_pipe = [0]

    def pipe(inp, t, params):
        n_pipe[0] += 1
        name = "gold_pipe_%d.f32" % n_pipe[0]
        t = np.ascontiguousarray(t, dtype=np.float32)
        assert t.ndim == 4 and t.shape[:2] == (1, 3)
        t.tofile(os.path.join(OUT, name))
        man.append("pipe %s %s %d %d %s" % (inp, name, t.shape[3], t.shape[2], params))

    csv = lambda v: ",".join(repr(float(np.float32(x))) for x in v)
    grad_bgr = np.ascontiguousarray(grad[..., ::-1])
    pipe("grad_97x61.png", centernet_pre_process(grad_bgr, 64, 48, fix_res=True),
         "method=affine_centernet target=64x48 order=BGR divisor=255 mean=%s std=%s"
         % (csv(CENTERNET_MEAN), csv(CENTERNET_STD)))
    pipe("grad_97x61.png", centernet_pre_process(grad_bgr, 0, 0, fix_res=False, pad=31),
         "method=affine_centernet keep_res=1 size_divisor=32 order=BGR divisor=255 mean=%s std=%s"
         % (csv(CENTERNET_MEAN), csv(CENTERNET_STD)))
    pipe("grad_97x61.png", mmdet_pipeline(grad_bgr, (66, 40), 32),
         "method=resize_keep_ratio_cv2 short_side=40 max_size=66 size_divisor=32 order=RGB "
         "divisor=1 mean=%s std=%s" % (csv(MMDET_MEAN), csv(MMDET_STD)))
    pipe("grad_97x61.png", detr_pipeline(Image.fromarray(grad), 48, 80),
         "method=resize_shorter_side_pil short_side=48 max_size=80 order=RGB divisor=255 "
         "mean=%s std=%s" % (csv(DETR_MEAN), csv(DETR_STD)))
    lb = letterbox(grad, (64, 64))
    pipe("grad_97x61.png", (lb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None],
         "method=letterbox target=64x64 border=114 order=RGB divisor=255 mean=0,0,0 std=1,1,1")
    lb = letterbox(gold_inputs["gray_33x17.png"], (40, 24))
    pipe("gray_33x17.png", (lb.astype(np.float32)).transpose(2, 0, 1)[None],
         "method=letterbox target=24x40 border=114 order=RGB divisor=1 mean=0,0,0 std=1,1,1")

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(man) + "\n")

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
