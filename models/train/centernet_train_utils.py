"""CenterNet training and evaluation helpers for the synthetic shapes.

The geometry (``get_affine_transform``, ``gaussian_radius``,
``draw_umich_gaussian``), the focal loss and the decoder follow
xingyizhou/CenterNet (``src/lib/utils/image.py``, ``src/lib/models/losses.py``,
``src/lib/models/decode.py``, ``src/lib/utils/post_process.py``), so that the
preprocessing and decoding here are the ones the C runtime reproduces:

* preprocessing: ``center = (w/2, h/2)``, ``scale = max(h, w)``, rotation 0,
  ``cv2.warpAffine(INTER_LINEAR)`` of the whole BGR image into the square
  network input (outside pixels are 0), then ``(img/255 - mean)/std`` per
  channel with CenterNet's COCO statistics in BGR order, HWC -> CHW;
* decoding: 3x3 max-pool keep-if-equal on the sigmoid heatmap, top-K over all
  classes, ``box = center + reg -/+ wh/2`` in output cells, times the output
  stride, mapped back with the inverse affine transform.
"""

import io
import math
import os
import pickle
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT_DIR = os.path.join(os.path.dirname(HERE), "export")
for _p in (HERE, EXPORT_DIR):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import cv2  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from synth import CLASSES, Config, render_sample  # noqa: E402

MEAN_BGR = np.array([0.40789654, 0.44719302, 0.47026115], np.float32)
STD_BGR = np.array([0.28863828, 0.27408164, 0.27809835], np.float32)
DOWN_RATIO = 4
NUM_CLASSES = len(CLASSES)

# Compact ResNet-18 layout (BasicBlock, [2, 2, 2, 2]) with reduced widths.
MODEL_CFG = dict(block="basic", layers=(2, 2, 2, 2), widths=(16, 32, 64, 128),
                 stem_width=16, head_conv=32, deconv_filters=(64, 32, 32))
VARIANT = "msra_resnet18_w16_shapes"


# ----------------------------------------------------------------- model

def build_model(cfg: Dict = MODEL_CFG, zero_init_residual: bool = False):
    from centernet import PoseResNet
    from torchvision.models.resnet import BasicBlock
    m = PoseResNet(cfg["block"], cfg["layers"], cfg["widths"], cfg["stem_width"],
                   {"hm": NUM_CLASSES, "wh": 2, "reg": 2}, cfg["head_conv"],
                   cfg["deconv_filters"], False)
    if zero_init_residual:
        # torchvision's ResNet initialisation for training from scratch:
        # He-normal (fan_out) convolutions in the backbone, and the last BN
        # of each residual block starting at 0 so every block starts as the
        # identity.
        for name, mod in m.named_modules():
            if name.startswith("layer") or name == "conv1":
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
                if isinstance(mod, BasicBlock):
                    nn.init.zeros_(mod.bn2.weight)
    # CenterNet's head initialisation: hm bias -2.19 (prior 0.1), the other
    # heads' convolutions N(0, 0.001^2) with zero bias.
    for name in ("hm", "wh", "reg"):
        head = getattr(m, name)
        if name == "hm":
            head[-1].bias.data.fill_(-2.19)
        else:
            for layer in head.modules():
                if isinstance(layer, nn.Conv2d):
                    nn.init.normal_(layer.weight, std=0.001)
                    nn.init.constant_(layer.bias, 0)
    # msra_resnet.py: deconv BN weight 1, bias 0 (PyTorch default).
    return m


_IY = torch.tensor([[3, 1, 4], [4, 2, 0]])


def deconv_subpixel(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d(kernel 4, stride 2, padding 1, no bias) with weight
    ``w`` [Cin, Cout, 4, 4], computed as a 3x3 convolution with 4*Cout
    outputs followed by pixel_shuffle(2).  Same result (up to float
    rounding) and much faster on CPU than PyTorch's transposed-convolution
    kernels, for training only: the exported graph keeps ConvTranspose.

    Output row 2m   = x[m] W[1] + x[m-1] W[3]
    Output row 2m+1 = x[m] W[2] + x[m+1] W[0]   (same for columns)."""
    cin, cout = w.shape[:2]
    wp = F.pad(w.transpose(0, 1), (0, 1, 0, 1))  # tap index 4 is zero
    iy = _IY[:, None, :, None].expand(2, 2, 3, 3)
    ix = _IY[None, :, None, :].expand(2, 2, 3, 3)
    k = wp[:, :, iy, ix].permute(0, 2, 3, 1, 4, 5).reshape(cout * 4, cin, 3, 3)
    return F.pixel_shuffle(F.conv2d(x, k, padding=1), 2)


class FastDeconv(nn.Module):
    """Training-time stand-in that shares the ConvTranspose2d parameters."""

    def __init__(self, ct: nn.ConvTranspose2d):
        super().__init__()
        assert ct.kernel_size == (4, 4) and ct.stride == (2, 2) and ct.padding == (1, 1)
        assert ct.bias is None and ct.output_padding == (0, 0)
        self.ct = ct

    def forward(self, x):
        return deconv_subpixel(x, self.ct.weight)


def use_fast_deconv(model, enable: bool = True) -> None:
    """Swap the deconv layers' forward for the sub-pixel form (or back).
    Parameter names and the state dict are unchanged."""
    for mod in model.deconv_layers:
        if isinstance(mod, nn.ConvTranspose2d):
            if enable:
                fd = FastDeconv(mod)
                mod.forward = fd.forward
            elif "forward" in mod.__dict__:
                del mod.forward


# ------------------------------------------------------------ geometry

def get_dir(src_point, rot_rad):
    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    return [src_point[0] * cs - src_point[1] * sn,
            src_point[0] * sn + src_point[1] * cs]


def get_3rd_point(a, b):
    direct = a - b
    return b + np.array([-direct[1], direct[0]], dtype=np.float32)


def get_affine_transform(center, scale, rot, output_size,
                         shift=np.array([0, 0], dtype=np.float32), inv=0):
    """CenterNet's src/lib/utils/image.py get_affine_transform."""
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


def affine_transform(pt, t):
    new_pt = np.array([pt[0], pt[1], 1.], dtype=np.float32).T
    new_pt = np.dot(t, new_pt)
    return new_pt[:2]


def gaussian_radius(det_size, min_overlap=0.7):
    """CenterNet's gaussian_radius (with its original quadratic formulas)."""
    height, width = det_size
    a1 = 1
    b1 = (height + width)
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = np.sqrt(b1 ** 2 - 4 * a1 * c1)
    r1 = (b1 + sq1) / 2
    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = np.sqrt(b2 ** 2 - 4 * a2 * c2)
    r2 = (b2 + sq2) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = np.sqrt(b3 ** 2 - 4 * a3 * c3)
    r3 = (b3 + sq3) / 2
    return min(r1, r2, r3)


def gaussian2D(shape, sigma=1):
    m, n = [(ss - 1.) / 2. for ss in shape]
    y, x = np.ogrid[-m:m + 1, -n:n + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


def draw_umich_gaussian(heatmap, center, radius, k=1):
    diameter = 2 * radius + 1
    gaussian = gaussian2D((diameter, diameter), sigma=diameter / 6)
    x, y = int(center[0]), int(center[1])
    height, width = heatmap.shape[0:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    masked_heatmap = heatmap[y - top:y + bottom, x - left:x + right]
    masked_gaussian = gaussian[radius - top:radius + bottom, radius - left:radius + right]
    if min(masked_gaussian.shape) > 0 and min(masked_heatmap.shape) > 0:
        np.maximum(masked_heatmap, masked_gaussian * k, out=masked_heatmap)
    return heatmap


# -------------------------------------------------------- preprocessing

def decode_jpeg_bgr(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def normalize(inp_bgr_u8: np.ndarray) -> np.ndarray:
    """HWC uint8 BGR -> CHW float32 normalised."""
    x = (inp_bgr_u8.astype(np.float32) / 255. - MEAN_BGR) / STD_BGR
    return x.transpose(2, 0, 1)


def preprocess(img_bgr: np.ndarray, input_size: int):
    """The official CenterNet test preprocessing (fix_res, scale 1).
    Returns (CHW float32, center, scale)."""
    h, w = img_bgr.shape[:2]
    c = np.array([w / 2., h / 2.], dtype=np.float32)
    s = max(h, w) * 1.0
    trans = get_affine_transform(c, s, 0, [input_size, input_size])
    inp = cv2.warpAffine(img_bgr, trans, (input_size, input_size), flags=cv2.INTER_LINEAR)
    return normalize(inp), c, s


# ------------------------------------------------------ training sample

def color_jitter(rng: np.random.Generator, img: np.ndarray, strength: float = 0.2):
    """Light brightness / contrast / saturation jitter in random order (as
    CenterNet's color_aug, without the PCA lighting).  img float32 BGR 0..1."""
    gray = img @ np.array([0.114, 0.587, 0.299], np.float32)
    ops = [0, 1, 2]
    rng.shuffle(ops)
    for op in ops:
        alpha = 1. + rng.uniform(-strength, strength)
        if op == 0:    # brightness
            img = img * alpha
        elif op == 1:  # contrast
            img = img * alpha + (1 - alpha) * float(gray.mean())
        else:          # saturation
            img = img * alpha + (1 - alpha) * gray[:, :, None]
    return img


def make_train_sample(rng: np.random.Generator, img_bgr: np.ndarray, objects,
                      input_size: int, scale_range=(0.6, 1.4), shift=0.1,
                      flip_p=0.5, jitter=0.2, max_objs=32, crop: int = 0):
    """One augmented training input and CenterNet ctdet targets.

    ``objects``: list of (category_id 1-based, [x, y, w, h], area).  The
    image is warped into the ``input_size`` square exactly as at test time
    (plus the scale/shift/flip augmentation).  With ``crop`` (a multiple of
    4, < input_size) only a ``crop`` x ``crop`` window of that square is
    produced, at the same pixel scale, placed at random over the image
    content: cheaper training on the same object scales (CenterNet trains on
    random crops too).  Boxes are clipped to the window."""
    h, w = img_bgr.shape[:2]
    c = np.array([w / 2., h / 2.], dtype=np.float32)
    s = max(h, w) * 1.0
    # CenterNet's not_rand_crop augmentation with scale 0.4 / shift 0.1.
    sf = (scale_range[1] - scale_range[0]) / 2.
    c[0] += s * np.clip(rng.standard_normal() * shift, -2 * shift, 2 * shift)
    c[1] += s * np.clip(rng.standard_normal() * shift, -2 * shift, 2 * shift)
    s = s * np.clip(rng.standard_normal() * sf + 1, scale_range[0], scale_range[1])
    flipped = rng.random() < flip_p
    if flipped:
        img_bgr = img_bgr[:, ::-1, :]
        c[0] = w - c[0] - 1
    trans_in = get_affine_transform(c, s, 0, [input_size, input_size])
    size = input_size
    if crop and crop < input_size:
        # image content in the input square
        corners = np.array([[0, 0, 1], [w, h, 1]], np.float64) @ trans_in.T
        x0, x1 = np.clip(np.sort(corners[:, 0]), 0, input_size)
        y0, y1 = np.clip(np.sort(corners[:, 1]), 0, input_size)

        def pick(lo_c, hi_c):
            lo = min(max(lo_c - 0.1 * crop, 0), input_size - crop)
            hi = min(max(hi_c - 0.9 * crop, 0), input_size - crop)
            if lo > hi:
                lo, hi = hi, lo
            return 4 * int(rng.uniform(lo, hi) / 4)

        ox, oy = pick(x0, x1), pick(y0, y1)
        trans_in = trans_in.copy()
        trans_in[:, 2] -= (ox, oy)
        size = crop
    inp = cv2.warpAffine(np.ascontiguousarray(img_bgr), trans_in,
                         (size, size), flags=cv2.INTER_LINEAR)
    inp = inp.astype(np.float32) / 255.
    if jitter > 0:
        inp = np.clip(color_jitter(rng, inp, jitter), 0.0, 1.0)
    inp = ((inp - MEAN_BGR) / STD_BGR).transpose(2, 0, 1)

    out = size // DOWN_RATIO
    # Same map to output cells as get_affine_transform(c, s, 0, [out, out])
    # (for the full square the two are identical).
    trans_out = trans_in / DOWN_RATIO
    hm = np.zeros((NUM_CLASSES, out, out), np.float32)
    wh = np.zeros((max_objs, 2), np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    ind = np.zeros((max_objs,), np.int64)
    mask = np.zeros((max_objs,), np.float32)
    k = 0
    for cat, (bx, by, bw, bh), _area in objects:
        bbox = np.array([bx, by, bx + bw, by + bh], np.float32)
        if flipped:
            # Boxes are continuous coordinates (pixel i spans [i, i+1]):
            # mirroring the pixel columns maps x to w - x.
            bbox[[0, 2]] = w - bbox[[2, 0]]
        bbox[:2] = affine_transform(bbox[:2], trans_out)
        bbox[2:] = affine_transform(bbox[2:], trans_out)
        # Clipped to the output map [0, out] (the official code clips to
        # out - 1, which would shrink boxes touching the right/bottom border).
        bbox = np.clip(bbox, 0, out)
        oh, ow = bbox[3] - bbox[1], bbox[2] - bbox[0]
        if oh > 0 and ow > 0 and k < max_objs:
            radius = gaussian_radius((math.ceil(oh), math.ceil(ow)))
            radius = max(0, int(radius))
            ct = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], np.float32)
            ct_int = ct.astype(np.int32)
            draw_umich_gaussian(hm[cat - 1], ct_int, radius)
            wh[k] = 1. * ow, 1. * oh
            ind[k] = ct_int[1] * out + ct_int[0]
            reg[k] = ct - ct_int
            mask[k] = 1
            k += 1
    return inp, hm, wh, reg, ind, mask


# --------------------------------------------------------------- losses

def neg_loss(pred, gt):
    """CenterNet's _neg_loss (modified focal loss); pred after sigmoid."""
    pos_inds = gt.eq(1).float()
    neg_inds = gt.lt(1).float()
    neg_weights = torch.pow(1 - gt, 4)
    pos_loss = torch.log(pred) * torch.pow(1 - pred, 2) * pos_inds
    neg_loss_ = torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg_inds
    num_pos = pos_inds.float().sum()
    pos_loss = pos_loss.sum()
    neg_loss_ = neg_loss_.sum()
    if num_pos == 0:
        return -neg_loss_
    return -(pos_loss + neg_loss_) / num_pos


def gather_feat(output, ind):
    """output [B, C, H, W], ind [B, K] -> [B, K, C]."""
    b, c = output.shape[:2]
    feat = output.reshape(b, c, -1).permute(0, 2, 1)
    return feat.gather(1, ind.unsqueeze(2).expand(-1, -1, c))


def reg_l1_loss(output, mask, ind, target):
    """CenterNet's RegL1Loss."""
    pred = gather_feat(output, ind)
    m = mask.unsqueeze(2).expand_as(pred).float()
    loss = F.l1_loss(pred * m, target * m, reduction="sum")
    return loss / (m.sum() + 1e-4)


def ctdet_loss(outputs, batch, wh_weight=0.1, off_weight=1.0):
    hm, wh, reg = outputs
    hm = torch.clamp(hm, min=1e-4, max=1 - 1e-4)
    l_hm = neg_loss(hm, batch["hm"])
    l_wh = reg_l1_loss(wh, batch["mask"], batch["ind"], batch["wh"])
    l_off = reg_l1_loss(reg, batch["mask"], batch["ind"], batch["reg"])
    total = l_hm + wh_weight * l_wh + off_weight * l_off
    return total, dict(hm=float(l_hm), wh=float(l_wh), off=float(l_off))


# --------------------------------------------------------------- decode

def ctdet_decode(hm, wh, reg, K=100):
    """hm after sigmoid [B, C, H, W].  Returns [B, K, 6] = x1, y1, x2, y2,
    score, class (0-based) in output cells."""
    b, c, h, w = hm.shape
    hmax = F.max_pool2d(hm, 3, stride=1, padding=1)
    heat = hm * (hmax == hm).float()
    scores, inds = torch.topk(heat.reshape(b, -1), K)
    clses = (inds // (h * w)).float()
    inds_sp = inds % (h * w)
    ys = (inds_sp // w).float()
    xs = (inds_sp % w).float()
    r = gather_feat(reg, inds_sp)
    s = gather_feat(wh, inds_sp)
    xs = xs + r[..., 0]
    ys = ys + r[..., 1]
    boxes = torch.stack([xs - s[..., 0] / 2, ys - s[..., 1] / 2,
                         xs + s[..., 0] / 2, ys + s[..., 1] / 2], dim=2)
    return torch.cat([boxes, scores.unsqueeze(2), clses.unsqueeze(2)], dim=2)


def post_process(dets: np.ndarray, c, s, out_size: int) -> np.ndarray:
    """Output-cell boxes -> original image pixels (CenterNet's
    ctdet_post_process / transform_preds with the inverse affine)."""
    trans = get_affine_transform(c, s, 0, [out_size, out_size], inv=1)
    d = dets.copy()
    for j in (0, 2):
        pts = np.stack([d[:, j], d[:, j + 1], np.ones(len(d), np.float32)], 1)
        mapped = pts @ trans.T
        d[:, j], d[:, j + 1] = mapped[:, 0], mapped[:, 1]
    return d


@torch.no_grad()
def detect(model, img_bgr: np.ndarray, input_size: int, K: int = 100) -> np.ndarray:
    """Full test pipeline on one image: [K, 6] x1, y1, x2, y2, score,
    class (0-based) in image pixels, sorted by score."""
    x, c, s = preprocess(img_bgr, input_size)
    hm, wh, reg = model(torch.from_numpy(x)[None])
    dets = ctdet_decode(hm, wh, reg, K)[0].numpy()
    return post_process(dets, c, s, input_size // DOWN_RATIO)


# ----------------------------------------------------------- evaluation

def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a [N,4], b [M,4] in x1,y1,x2,y2 (continuous coordinates)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-12)


def evaluate(dets_per_image: Sequence[np.ndarray], gts_per_image: Sequence[np.ndarray],
             num_classes: int = NUM_CLASSES, iou_thr: float = 0.5,
             score_thr: float = 0.3) -> Dict:
    """COCO-style AP at one IoU threshold (greedy matching by descending
    score per image and class, 101-point interpolated precision), per class
    and mean over the classes that have ground truth; plus recall and
    precision of the detections with score >= score_thr (class-aware).

    dets: [N, 6] x1,y1,x2,y2,score,cls0; gts: [M, 5] x1,y1,x2,y2,cls0."""
    aps = {}
    tp_thr = fp_thr = 0
    n_gt_total = 0
    for k in range(num_classes):
        scores, tps = [], []
        n_gt = 0
        for d, g in zip(dets_per_image, gts_per_image):
            gk = g[g[:, 4] == k][:, :4]
            dk = d[d[:, 5] == k]
            dk = dk[np.argsort(-dk[:, 4], kind="stable")]
            n_gt += len(gk)
            ious = iou_matrix(dk[:, :4], gk)
            used = np.zeros(len(gk), bool)
            for i in range(len(dk)):
                best, bj = iou_thr, -1
                for j in range(len(gk)):
                    if not used[j] and ious[i, j] >= best:
                        best, bj = ious[i, j], j
                tp = bj >= 0
                if tp:
                    used[bj] = True
                scores.append(dk[i, 4])
                tps.append(tp)
                if dk[i, 4] >= score_thr:
                    tp_thr += tp
                    fp_thr += not tp
        n_gt_total += n_gt
        if n_gt == 0:
            continue
        order = np.argsort(-np.asarray(scores), kind="mergesort")
        tps_a = np.asarray(tps, np.float64)[order]
        ctp = np.cumsum(tps_a)
        cfp = np.cumsum(1 - tps_a)
        rc = ctp / n_gt
        pr = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        # precision envelope, then sample at 101 recall points (COCO)
        for i in range(len(pr) - 1, 0, -1):
            pr[i - 1] = max(pr[i - 1], pr[i])
        rec_pts = np.linspace(0, 1, 101)
        idx = np.searchsorted(rc, rec_pts, side="left")
        q = np.array([pr[i] if i < len(pr) else 0.0 for i in idx])
        aps[CLASSES[k]] = float(q.mean())
    return dict(ap50=float(np.mean(list(aps.values()))) if aps else 0.0,
                ap50_per_class=aps,
                recall=tp_thr / max(n_gt_total, 1),
                precision=tp_thr / max(tp_thr + fp_thr, 1),
                n_gt=n_gt_total, n_det_thr=tp_thr + fp_thr)


def gt_array(objects) -> np.ndarray:
    """(category_id, [x, y, w, h], area) list -> [M, 5] x1,y1,x2,y2,cls0."""
    g = [[x, y, x + w, y + h, cat - 1] for cat, (x, y, w, h), _ in objects]
    return np.asarray(g, np.float64).reshape(-1, 5)


# ---------------------------------------------------------- data cache

def _render_one(args):
    seed, index, cfg = args
    s = render_sample(seed, index, cfg)
    return s.jpeg, s.width, s.height, s.objects


def render_set(seed: int, count: int, cfg: Config, jobs: int = 1, start: int = 0):
    """List of (jpeg bytes, width, height, objects) for images
    start..start+count-1 of stream ``seed``."""
    tasks = [(seed, start + i, cfg) for i in range(count)]
    if jobs <= 1:
        return [_render_one(t) for t in tasks]
    import multiprocessing as mp
    with mp.get_context("fork").Pool(jobs) as pool:
        return list(pool.imap(_render_one, tasks, chunksize=16))


def cached_set(cache_dir: str, seed: int, count: int, cfg: Config, jobs: int = 1):
    """render_set, cached as a pickle keyed by seed, count and options."""
    lo, hi = cfg.size_range if cfg.size_range else (cfg.width, cfg.height)
    name = f"shapes_s{seed}_n{count}_{lo}-{hi}_o{cfg.min_objects}-{cfg.max_objects}.pkl"
    path = os.path.join(cache_dir, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    data = render_set(seed, count, cfg, jobs)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = path + f".tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return data
