#!/usr/bin/python3
"""Expected detections of the small test detectors, from PyTorch + torchvision.

    /usr/bin/python3 tests/models/make_detector_goldens.py [--out DIR] [--only NAME ...]
                                                           [--explore]

Rerun after models/export/make_test_models.py regenerates the test models.
For each small test model in tests/data/models (centernet, centernet_dcn,
detr, vfnet), and for dynamic-size exports of the small CenterNet and DETR
written to DIR (centernet_dynamic.onnx, detr_dynamic.onnx: same weights,
dynamic H and W, reference preprocessing CenterNet --keep_res and DETR's
shorter-side resize), this

1. builds the PyTorch model exactly as models/export/make_test_models.py does
   (export.make_model(name, "small", seed 0)) and checks that its eager
   outputs on tests/data/models/NAME/test_data_set_0/input_0.pb equal the
   committed ONNX Runtime outputs (rtol 1e-3, atol 1e-4): the weights are the
   ones inside model.onnx;
2. preprocesses candidate test images as the reference code bases do
   (CenterNet: cv2.warpAffine with get_affine_transform, BGR; DETR: PIL
   resize BILINEAR + ToTensor + Normalize; VFNet: cv2.resize + mmcv
   imnormalize), fitted into the model's fixed input as odet's detector does
   for fixed-size exports (keep ratio, pad bottom / right with 0);
3. runs the PyTorch model and decodes with the reference postprocessing:
   CenterNet ctdet_decode (max_pool2d 3x3 keep-if-equal, topk) +
   ctdet_post_process (inverse affine); DETR PostProcess (softmax, max,
   box_cxcywh_to_xyxy x size); VFNet get_bboxes (sigmoid, per-level topk,
   distance2bbox clamped, / scale factor) + multiclass_nms
   (torchvision.ops.batched_nms, top 100);
4. picks a score threshold for every (model, image) so that the detections
   kept are unambiguous (see pick_threshold), keeps per model the landscape
   and the portrait candidate with the most such detections, and writes them
   to DIR/expected.txt and the images used to DIR (deterministic noise
   textures, seeded).

Random weights give many near-equal scores, and odet's engine differs from
PyTorch by ~1e-5 (more with deformable convs), so a threshold or an order
decided by a 1e-6 score difference would make the comparison flaky. The
threshold is placed in a gap of at least GAP_CUT between consecutive scores,
every two consecutive kept scores differ by at least GAP_ORDER, and DETR's
best class beats the second by at least GAP_LABEL. The C test compares
labels and order exactly, boxes within 1e-3 pixels and scores within 1e-4.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXPORT = os.path.join(ROOT, "models", "export")
sys.path.insert(0, EXPORT)

import cv2  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms as T  # noqa: E402
from onnx import TensorProto, numpy_helper  # noqa: E402
from PIL import Image  # noqa: E402

import export  # noqa: E402

MODELS = ("centernet", "centernet_dcn", "detr", "vfnet")
MODEL_DIR = os.path.join(ROOT, "tests", "data", "models")
RTOL, ATOL = 1e-3, 1e-4
GAP_CUT = 1e-3     # threshold sits in a gap at least this wide
GAP_ORDER = 1e-4   # consecutive kept scores differ at least this much
GAP_LABEL = 1e-3   # DETR: best vs second class probability
MIN_KEEP, MAX_KEEP = 3, 25


# --------------------------------------------------------------------- images

def make_image(w, h, seed, blur, contrast):
    """RGB noise, optionally blurred, stretched to the given standard
    deviation around 128. The random weights were calibrated on
    standard-normal inputs (models/export), and a noise texture keeps the
    heads near that regime; smooth natural-looking images drive most scores
    to 1.0, where their order is undecidable."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (h, w, 3))
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = (img - img.mean()) / img.std() * contrast + 128
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)  # RGB


# Candidate test images: (name, width, height, seed, blur, contrast). Each
# model uses the landscape and the portrait candidate with the most
# unambiguous detections; only the images used are written.
# Append new sizes at the end: a candidate's seed is its position.
CANDIDATES = [(f"noise_{w}x{h}_b{int(b * 10)}_c{c}_s{100 + i}.png", w, h, 100 + i, b, c)
              for i, (w, h, b, c) in enumerate(
                  [(wh[0], wh[1], b, c)
                   for wh in ((200, 150), (160, 120), (90, 130), (120, 176), (130, 90))
                   for b in (0.0, 0.7, 1.5) for c in (70, 35)])]


def candidate_path(cand, tmp_dir):
    name, w, h, seed, blur, contrast = cand
    p = os.path.join(tmp_dir, name)
    if not os.path.exists(p):
        Image.fromarray(make_image(w, h, seed, blur, contrast)).save(p)
    return p


# ---------------------------------------------------------- model + weights

def load_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def build(name):
    model, spec = export.make_model(name, "small", 0)
    data = os.path.join(MODEL_DIR, name, "test_data_set_0")
    x = torch.from_numpy(load_pb(os.path.join(data, "input_0.pb")).copy())
    outs = export.run_eager(model, [x])
    worst = 0.0
    for k, y in enumerate(outs):
        ref = load_pb(os.path.join(data, f"output_{k}.pb"))
        if ref.shape != y.shape:
            raise SystemExit(f"{name}: output {k} shape {y.shape} vs ORT {ref.shape}")
        excess = np.abs(y - ref) - (ATOL + RTOL * np.abs(ref))
        worst = max(worst, float(np.abs(y - ref).max()))
        if (excess > 0).any():
            raise SystemExit(f"{name}: eager output {k} differs from the ONNX golden "
                             f"(max abs {np.abs(y - ref).max():.3g}): weights do not match")
    print(f"{name}: PyTorch eager == ONNX Runtime golden (max abs diff {worst:.2g})")
    return model, spec


# Dynamic-size variants: the same small models (same weights) exported with
# dynamic H and W, so that the detector's dynamic-input paths (CenterNet
# keep_res, DETR shorter side / max size) run end to end. DETR's sizes are
# reduced through its metadata (odet.short_side / odet.max_size) to keep the
# test fast.
DYNAMIC = {
    "centernet_dynamic": ("centernet", {}),
    "detr_dynamic": ("detr", {"odet.short_side": "120", "odet.max_size": "200"}),
}


def export_dynamic(base, extra_meta, path):
    import io
    import onnx
    import common
    model, spec = export.make_model(base, "small", 0)
    x = torch.zeros(spec["input_shapes"][0])
    name = spec["input_names"][0]
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (x,), buf, opset_version=common.EXPORT_OPSET,
                          do_constant_folding=True, input_names=[name],
                          output_names=list(spec["output_names"]),
                          dynamic_axes={name: {2: "height", 3: "width"}},
                          training=torch.onnx.TrainingMode.EVAL)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    meta = {k: v for k, v in spec["metadata"].items() if k != "odet.input_size"}
    meta["odet.variant"] = meta["odet.variant"] + "_dynamic"
    meta.update(extra_meta)
    common.set_metadata(proto, meta)
    onnx.save(proto, path)
    return model, meta


# ------------------------------------------------------------- preprocessing

MEAN_BGR_CN = np.array([0.40789654, 0.44719302, 0.47026115], np.float32)
STD_BGR_CN = np.array([0.28863828, 0.27408164, 0.27809835], np.float32)
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)


def get_dir(src_point, rot_rad):
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return [src_point[0] * cs - src_point[1] * sn, src_point[0] * sn + src_point[1] * cs]


def get_3rd_point(a, b):
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_affine_transform(center, scale, rot, output_size,
                         shift=np.array([0, 0], dtype=np.float32), inv=0):
    """xingyizhou/CenterNet src/lib/utils/image.py."""
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
        return cv2.getAffineTransform(np.float32(dst), np.float32(src))
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def affine_transform(pt, t):
    new_pt = np.array([pt[0], pt[1], 1.], dtype=np.float32).T
    new_pt = np.dot(t, new_pt)
    return new_pt[:2]


def fit_size(w, h, in_w, in_h):
    """Keep-ratio size inside the fixed input (mmcv rounding int(x + 0.5))."""
    g = min(in_w / w, in_h / h)
    return (max(1, min(in_w, int(w * g + 0.5))), max(1, min(in_h, int(h * g + 0.5))))


def prep_centernet(path, in_h, in_w):
    """CenterNet's pre_process (test, fix_res, scale 1)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    c = np.array([w / 2., h / 2.], dtype=np.float32)
    s = max(h, w) * 1.0
    trans = get_affine_transform(c, s, 0, [in_w, in_h])
    inp = cv2.warpAffine(img, trans, (in_w, in_h), flags=cv2.INTER_LINEAR)
    inp = ((inp / 255. - MEAN_BGR_CN) / STD_BGR_CN).astype(np.float32)
    x = torch.from_numpy(inp.transpose(2, 0, 1).copy())[None]
    return x, dict(c=c, s=s, w=w, h=h)


def prep_centernet_keep_res(path, pad=31):
    """CenterNet's pre_process with --keep_res (input = image rounded up to a
    multiple of 32, c = (w // 2, h // 2), s = input size)."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    in_h, in_w = (h | pad) + 1, (w | pad) + 1
    c = np.array([w // 2, h // 2], dtype=np.float32)
    s = np.array([in_w, in_h], dtype=np.float32)
    trans = get_affine_transform(c, s, 0, [in_w, in_h])
    inp = cv2.warpAffine(img, trans, (in_w, in_h), flags=cv2.INTER_LINEAR)
    inp = ((inp / 255. - MEAN_BGR_CN) / STD_BGR_CN).astype(np.float32)
    x = torch.from_numpy(inp.transpose(2, 0, 1).copy())[None]
    return x, dict(c=c, s=s, w=w, h=h), in_h, in_w


def detr_size(image_size, size, max_size=None):
    """DETR datasets/transforms.py get_size_with_aspect_ratio -> (h, w)."""
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


def prep_detr_dynamic(path, short, max_size):
    """DETR's val transform T.RandomResize([short], max_size) on one image:
    no padding, the tensor is the resized image."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    oh, ow = detr_size((w, h), short, max_size)
    x = T.Compose([T.ToTensor(), T.Normalize(MEAN_RGB, STD_RGB)])(
        torchvision.transforms.functional.resize(img, (oh, ow)))[None]
    return x, dict(w=w, h=h, cw=ow, ch=oh), oh, ow


def prep_detr(path, in_h, in_w):
    """DETR's val transform (PIL bilinear resize, ToTensor, Normalize), the
    resize fitted into the fixed input, zero padding at the bottom / right
    (DETR's nested_tensor_from_tensor_list pads with 0)."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    cw, ch = fit_size(w, h, in_w, in_h)
    t = T.Compose([T.ToTensor(), T.Normalize(MEAN_RGB, STD_RGB)])(
        img.resize((cw, ch), Image.BILINEAR))
    x = torch.zeros(1, 3, in_h, in_w)
    x[0, :, :ch, :cw] = t
    return x, dict(w=w, h=h, cw=cw, ch=ch)


def prep_vfnet(path, in_h, in_w):
    """mmdet test pipeline: LoadImageFromFile (cv2, BGR), Resize(keep_ratio)
    with cv2 bilinear, Normalize(to_rgb) as mmcv.imnormalize, Pad with 0."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    cw, ch = fit_size(w, h, in_w, in_h)
    r = cv2.resize(img, (cw, ch), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    mean = np.float64(np.array([123.675, 116.28, 103.53]).reshape(1, -1))
    stdinv = 1 / np.float64(np.array([58.395, 57.12, 57.375]).reshape(1, -1))
    cv2.cvtColor(r, cv2.COLOR_BGR2RGB, r)
    cv2.subtract(r, mean, r)
    cv2.multiply(r, stdinv, r)
    x = torch.zeros(1, 3, in_h, in_w)
    x[0, :, :ch, :cw] = torch.from_numpy(r.transpose(2, 0, 1).copy())
    return x, dict(w=w, h=h, cw=cw, ch=ch)


# ------------------------------------------------------------ postprocessing

def _nms(heat, kernel=3):
    pad = (kernel - 1) // 2
    hmax = F.max_pool2d(heat, (kernel, kernel), stride=1, padding=pad)
    keep = (hmax == heat).float()
    return heat * keep


def _gather_feat(feat, ind):
    dim = feat.size(2)
    ind = ind.unsqueeze(2).expand(ind.size(0), ind.size(1), dim)
    return feat.gather(1, ind)


def _transpose_and_gather_feat(feat, ind):
    feat = feat.permute(0, 2, 3, 1).contiguous()
    feat = feat.view(feat.size(0), -1, feat.size(3))
    return _gather_feat(feat, ind)


def _topk(scores, K):
    batch, cat, height, width = scores.size()
    topk_scores, topk_inds = torch.topk(scores.view(batch, cat, -1), K)
    topk_inds = topk_inds % (height * width)
    topk_ys = (topk_inds // width).int().float()
    topk_xs = (topk_inds % width).int().float()
    topk_score, topk_ind = torch.topk(topk_scores.view(batch, -1), K)
    topk_clses = (topk_ind // K).int()
    topk_inds = _gather_feat(topk_inds.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_ys = _gather_feat(topk_ys.view(batch, -1, 1), topk_ind).view(batch, K)
    topk_xs = _gather_feat(topk_xs.view(batch, -1, 1), topk_ind).view(batch, K)
    return topk_score, topk_inds, topk_clses, topk_ys, topk_xs


def ctdet_decode(heat, wh, reg, K=100):
    """CenterNet src/lib/models/decode.py (heat after sigmoid)."""
    batch = heat.size(0)
    heat = _nms(heat)
    scores, inds, clses, ys, xs = _topk(heat, K=K)
    reg = _transpose_and_gather_feat(reg, inds).view(batch, K, 2)
    xs = xs.view(batch, K, 1) + reg[:, :, 0:1]
    ys = ys.view(batch, K, 1) + reg[:, :, 1:2]
    wh = _transpose_and_gather_feat(wh, inds).view(batch, K, 2)
    clses = clses.view(batch, K, 1).float()
    scores = scores.view(batch, K, 1)
    bboxes = torch.cat([xs - wh[..., 0:1] / 2, ys - wh[..., 1:2] / 2,
                        xs + wh[..., 0:1] / 2, ys + wh[..., 1:2] / 2], dim=2)
    return torch.cat([bboxes, scores, clses], dim=2)


def post_centernet(outs, meta, in_h, in_w, K=100):
    """ctdet_decode + ctdet_post_process (transform_preds, inverse affine at
    the output resolution). Returns [(label, score, box)] best first and the
    scores used to judge ambiguity."""
    hm, wh, reg = (torch.from_numpy(o) for o in outs)
    dets = ctdet_decode(hm, wh, reg, K)[0].numpy()
    out_h, out_w = in_h // 4, in_w // 4
    trans = get_affine_transform(meta["c"], meta["s"], 0, (out_w, out_h), inv=1)
    res = []
    for d in dets:
        p1 = affine_transform(d[0:2], trans).astype(np.float32)
        p2 = affine_transform(d[2:4], trans).astype(np.float32)
        res.append((int(d[5]), float(d[4]), [p1[0], p1[1], p2[0], p2[1]]))
    # the full sorted heatmap, to see how close the last kept peak is to the rest
    return res, dict(all_scores=np.sort(_nms(hm).numpy().ravel())[::-1])


def box_cxcywh_to_xyxy(x):
    x_c, y_c, w, h = x.unbind(-1)
    b = [(x_c - 0.5 * w), (y_c - 0.5 * h), (x_c + 0.5 * w), (y_c + 0.5 * h)]
    return torch.stack(b, dim=-1)


def post_detr(outs, meta, in_h, in_w):
    """DETR PostProcess. The exported graph's mask is all false: boxes are
    normalised to the whole input tensor, whose size in original-image pixels
    is (in_w * w / cw, in_h * h / ch)."""
    logits, boxes = (torch.from_numpy(o) for o in outs)
    prob = F.softmax(logits, -1)
    scores, labels = prob[..., :-1].max(-1)
    top2 = prob[..., :-1].topk(2, dim=-1).values
    xyxy = box_cxcywh_to_xyxy(boxes)
    img_w = in_w * meta["w"] / meta["cw"]
    img_h = in_h * meta["h"] / meta["ch"]
    scale = torch.tensor([img_w, img_h, img_w, img_h], dtype=torch.float32)
    xyxy = xyxy * scale[None, None, :]
    s, l, b = scores[0].numpy(), labels[0].numpy(), xyxy[0].numpy()
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    res = [(int(l[i]), float(s[i]), list(b[i])) for i in order]
    margins = (top2[0, :, 0] - top2[0, :, 1]).numpy()
    return res, dict(label_margin=[float(margins[i]) for i in order])


def distance2bbox(points, distance, max_shape=None):
    x1 = points[:, 0] - distance[:, 0]
    y1 = points[:, 1] - distance[:, 1]
    x2 = points[:, 0] + distance[:, 2]
    y2 = points[:, 1] + distance[:, 3]
    if max_shape is not None:
        x1 = x1.clamp(min=0, max=max_shape[1])
        y1 = y1.clamp(min=0, max=max_shape[0])
        x2 = x2.clamp(min=0, max=max_shape[1])
        y2 = y2.clamp(min=0, max=max_shape[0])
    return torch.stack([x1, y1, x2, y2], -1)


def post_vfnet(outs, meta, in_h, in_w, score_thr=0.05, nms_pre=1000, iou=0.6, max_num=100):
    """mmdet VFNetHead._get_bboxes_single(rescale=True) + multiclass_nms."""
    strides = (8, 16, 32, 64, 128)
    n = len(strides)
    img_shape = (meta["ch"], meta["cw"])
    sf = torch.tensor([meta["cw"] / meta["w"], meta["ch"] / meta["h"]] * 2,
                      dtype=torch.float32)
    mlvl_b, mlvl_s = [], []
    for lvl, s in enumerate(strides):
        cls = torch.from_numpy(outs[lvl])[0]
        bp = torch.from_numpy(outs[n + lvl])[0]
        C, H, W = cls.shape
        scores = cls.permute(1, 2, 0).reshape(-1, C).sigmoid()
        bp = bp.permute(1, 2, 0).reshape(-1, 4)
        ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        points = torch.stack([xs.reshape(-1) * s, ys.reshape(-1) * s], -1).float()
        if 0 < nms_pre < scores.shape[0]:
            _, topk = scores.max(dim=1)[0].topk(nms_pre)
            points, bp, scores = points[topk], bp[topk], scores[topk]
        mlvl_b.append(distance2bbox(points, bp, max_shape=img_shape))
        mlvl_s.append(scores)
    boxes = torch.cat(mlvl_b) / sf
    scores = torch.cat(mlvl_s)
    C = scores.shape[1]
    b = boxes[:, None].expand(-1, C, 4).reshape(-1, 4)
    sc = scores.reshape(-1)
    labels = torch.arange(C)[None].expand(scores.shape[0], C).reshape(-1)
    valid = sc > score_thr
    b, sc, labels = b[valid], sc[valid], labels[valid]
    keep = torchvision.ops.batched_nms(b, sc, labels, iou)[:max_num]
    res = [(int(labels[k]), float(sc[k]), [float(v) for v in b[k]]) for k in keep]
    return res, {}


PREP = {"centernet": prep_centernet, "centernet_dcn": prep_centernet,
        "detr": prep_detr, "vfnet": prep_vfnet}
POST = {"centernet": post_centernet, "centernet_dcn": post_centernet,
        "detr": post_detr, "vfnet": post_vfnet}


# ------------------------------------------------------------- thresholds

def pick_threshold(res, extra, floor):
    """A threshold (> floor) keeping MIN_KEEP..MAX_KEEP detections such that
    the cut lies in a gap >= GAP_CUT, consecutive kept scores differ by
    >= GAP_ORDER and (DETR) every kept label wins by >= GAP_LABEL. Scores
    below the kept ones that the decoder never reports (CenterNet peaks past
    K) are included via extra["all_scores"]. Returns (threshold, count) or
    None."""
    scores = [r[1] for r in res]
    allsc = list(extra.get("all_scores", scores))
    margins = extra.get("label_margin")
    best = None
    for n in range(MIN_KEEP, min(MAX_KEEP, len(scores)) + 1):
        lo = scores[n] if n < len(scores) else floor
        # the largest score not kept (also among all candidates)
        below = max([s for s in allsc if s < scores[n - 1]] + [lo, floor])
        if scores[n - 1] - below < GAP_CUT:
            continue
        if any(scores[i] - scores[i + 1] < GAP_ORDER for i in range(n - 1)):
            continue
        if margins and any(m < GAP_LABEL for m in margins[:n]):
            continue
        thr = (scores[n - 1] + below) / 2
        if thr <= floor:
            continue
        cand = (round(thr, 6), n)
        if best is None or n > best[1]:
            best = cand
    return best


FLOOR = {"centernet": 0.0, "centernet_dcn": 0.0, "detr": 0.0, "vfnet": 0.05}


def reference(model, name, path, in_h, in_w, meta_keys=None):
    if name == "centernet_dynamic":
        x, meta, in_h, in_w = prep_centernet_keep_res(path)
        post = post_centernet
    elif name == "detr_dynamic":
        x, meta, in_h, in_w = prep_detr_dynamic(path, int(meta_keys["odet.short_side"]),
                                                int(meta_keys["odet.max_size"]))
        post = post_detr
    else:
        x, meta = PREP[name](path, in_h, in_w)
        post = POST[name]
    with torch.no_grad():
        outs = export.run_eager(model, [x])
    return post(outs, meta, in_h, in_w)


def read_cases(path):
    """Existing expected.txt -> {model: [lines of its cases]}."""
    blocks = {}
    if not os.path.exists(path):
        return blocks
    cur = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or not line:
                continue
            if line.startswith("case "):
                cur = blocks.setdefault(line.split()[1], [])
            cur.append(line)
    return blocks


def main(argv=None):
    names = MODELS + tuple(DYNAMIC)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "data", "detector"))
    ap.add_argument("--only", nargs="+", choices=names,
                    help="regenerate these models' cases, keep the others")
    ap.add_argument("--explore", action="store_true",
                    help="print every candidate's scores and choice, write nothing")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="odet_det_goldens_")
    expected = os.path.join(a.out, "expected.txt")
    blocks = read_cases(expected)
    todo = a.only or names
    new_images = {}
    for name in todo:
        meta_keys = None
        if name in DYNAMIC:
            base, extra_meta = DYNAMIC[name]
            model, meta_keys = export_dynamic(base, extra_meta,
                                              os.path.join(tmp, name + ".onnx"))
            in_h = in_w = 0
        else:
            base = name
            model, spec = build(name)
            _, _, in_h, in_w = spec["input_shapes"][0]
        best = {}  # orientation -> (count, cand, thr, res)
        for cand in CANDIDATES:
            path = candidate_path(cand, tmp)
            res, extra = reference(model, name, path, in_h, in_w, meta_keys)
            pick = pick_threshold(res, extra, FLOOR[base])
            if a.explore:
                print(name, cand[0], pick, " ".join(f"{r[1]:.4f}" for r in res[:12]))
            if pick is None:
                continue
            orient = "landscape" if cand[1] >= cand[2] else "portrait"
            if orient not in best or pick[1] > best[orient][0]:
                best[orient] = (pick[1], cand, pick[0], res)
        if len(best) != 2:
            raise SystemExit(f"{name}: no unambiguous candidate for "
                             f"{sorted({'landscape', 'portrait'} - set(best))}")
        block = []
        for orient in ("landscape", "portrait"):
            n, cand, thr, res = best[orient]
            new_images[cand[0]] = cand
            block.append(f"case {name} {cand[0]} {thr:.6f} {n}")
            for lab, sc, b in res[:n]:
                block.append(f"{lab} {sc:.7f} " + " ".join(f"{float(v):.5f}" for v in b))
            print(f"{name} {cand[0]}: threshold {thr}, {n} detections "
                  f"(scores {res[0][1]:.4f} .. {res[n - 1][1]:.4f})")
        blocks[name] = block
    if a.explore:
        return 0
    os.makedirs(a.out, exist_ok=True)
    for name in todo:
        if name in DYNAMIC:
            with open(os.path.join(tmp, name + ".onnx"), "rb") as f, \
                    open(os.path.join(a.out, name + ".onnx"), "wb") as g:
                g.write(f.read())
    for cand in new_images.values():
        with open(candidate_path(cand, tmp), "rb") as f, \
                open(os.path.join(a.out, cand[0]), "wb") as g:
            g.write(f.read())
    lines = ["# odet detector goldens, written by tests/models/make_detector_goldens.py",
             "# case MODEL IMAGE THRESHOLD COUNT, then COUNT lines: LABEL SCORE X1 Y1 X2 Y2",
             "# (boxes in original-image pixels; labels and order must match exactly)"]
    for name in names:
        lines += blocks.get(name, [])
    with open(expected, "w") as f:
        f.write("\n".join(lines) + "\n")
    # drop images no case uses any more
    used = {ln.split()[2] for ln in lines if ln.startswith("case ")}
    for f in os.listdir(a.out):
        if f.endswith(".png") and f not in used:
            os.remove(os.path.join(a.out, f))
    print(f"wrote {expected}: {sum(ln.startswith('case ') for ln in lines)} cases, "
          f"{len(used)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
