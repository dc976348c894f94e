#!/usr/bin/python3
"""Train, evaluate and export a compact VarifocalNet on the synthetic shapes.

    train_vfnet.py train  --out-dir DIR [--minutes M | --iters N] [--init-from FILE] ...
    train_vfnet.py eval   --checkpoint FILE [--seed 9001 --count 300]
    train_vfnet.py export --checkpoint FILE --out FILE.onnx --pth-out FILE.pth --ap50 X

The network is models/export/vfnet.py's ``VFNet`` with ``CONFIGS["shapes"]``
(mmdet module names; ResNet-18-layout trunk with stem 16 and widths
16/32/64/128, FPN P3-P6 with 64 channels, VFNetHead with 64 channels, two
stacked convs per branch and the star-shaped deformable refinement).  The
trunk starts from the CenterNet checkpoint models/default/centernet_shapes.pth
(same ResNet layout and key names under ``backbone.``).

Pre-processing contract (the C runtime's ``letterbox`` method, replicated
exactly at evaluation time): cv2 BGR image, YOLO letterbox into 256x256
(cv2.resize INTER_LINEAR to (round(w r), round(h r)), r = min(256/h, 256/w),
offsets round(d/2 - 0.1), border 114), /255, (x - mean)/std with the
model's channel order and statistics (odet.mean/std), CHW.

Decoding (``decode``) is models/adapter_vfnet.c + postprocess/rank_vfnet.c:
points (x s, y s) (odet.point_offset 0), boxes point -/+ (l, t, r, b) in
float32, clamped to the letterbox content, mapped back to the image
((v - pad) / (content / image size)), per level the pre_nms_top_k points
with the largest max-class logit, every (point, class) with
sigmoid > score_thr, class-aware NMS (torchvision), best max_dets.

See TRAINING.md for the recipe and results.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import centernet_train_utils as U  # noqa: E402  (also puts models/export on sys.path)
import train_common as C  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

import vfnet as V  # noqa: E402
from synth import CLASSES, Config  # noqa: E402
from train_centernet import log, parse_seeds  # noqa: E402

SIZE = "shapes"
CFG = V.CONFIGS[SIZE]
INPUT_H, INPUT_W = CFG["input_hw"]
NUM_CLASSES = CFG["num_classes"]
STRIDES = tuple(CFG["strides"])
MEAN = np.array(CFG["mean"], np.float32)
STD = np.array(CFG["std"], np.float32)
CHANNEL_ORDER = CFG["channel_order"]
META = CFG["metadata"]
NMS_IOU = float(META["odet.nms_iou_threshold"])
PRE_NMS_TOP_K = int(META["odet.pre_nms_top_k"])
MAX_DETS = int(META["odet.max_detections"])
POINT_OFFSET = 0.0  # odet.point_offset of vfnet.build()
PAD_VALUE = 114
DEFAULT_INIT = os.path.join(os.path.dirname(HERE), "default", "centernet_shapes.pth")
assert NUM_CLASSES == len(CLASSES)

# Training constants (mmdet VFNet defaults unless noted)
ANCHOR_SCALE = 4      # ATSS anchor side = ANCHOR_SCALE * stride (mmdet: 8, see TRAINING.md)
ATSS_TOPK = 9
GRADIENT_MUL = 0.1    # gradient into the DCN offsets from the initial boxes
VFL_ALPHA, VFL_GAMMA = 0.75, 2.0
W_BBOX_INIT, W_BBOX_REFINE = 1.5, 2.0


# ----------------------------------------------------------------- model

def build_model():
    """VFNet 'shapes' with mmdet's initialisation of the new parts: FPN
    convs Xavier-uniform, head convs N(0, 0.01), vfnet_cls bias for a 0.01
    prior, Scales 1.  (The trunk is overwritten by init_trunk.)"""
    model, _ = V.build(SIZE)
    for m in model.neck.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    head = model.bbox_head
    for m in head.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, V.DeformConv2d):
            nn.init.normal_(m.weight, std=0.01)
        elif isinstance(m, nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    nn.init.constant_(head.vfnet_cls.bias, -math.log((1 - 0.01) / 0.01))
    return model


def init_trunk(model, path, out=None):
    """Copy the ResNet trunk (conv1, bn1, layer1..4) of a CenterNet
    checkpoint (official key names, e.g. models/default/centernet_shapes.pth)
    into model.backbone.  Returns the number of tensors copied."""
    ck = torch.load(path, map_location="cpu")
    sd = ck.get("state_dict", ck)
    own = model.backbone.state_dict()
    take = {k: v for k, v in sd.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    missing = [k for k in own if k not in take]
    if missing:
        raise SystemExit(f"{path}: trunk keys missing or of another shape: {missing[:5]}...")
    model.backbone.load_state_dict(take)
    log(f"trunk initialised from {path}: {len(take)} tensors", out)
    return len(take)


def load_model(pth_path):
    """Model (eval mode) from a checkpoint written by this script (a dict with
    ``state_dict``, as models/zoo/vfnet_shapes.pth) or a bare state dict."""
    ck = torch.load(pth_path, map_location="cpu")
    sd = ck["state_dict"] if isinstance(ck, dict) and "state_dict" in ck else ck
    model, _ = V.build(SIZE)
    model.load_state_dict(sd)
    model.eval()
    return model


def set_train_mode(model, frozen_stages):
    """model.train(), except the frozen trunk stages (stem = 0, layer1 = 1,
    ...; mmdet's frozen_stages), whose BN layers stay in eval mode."""
    model.train()
    bb = model.backbone
    parts = [[bb.conv1, bb.bn1]] + [[getattr(bb, f"layer{i}")] for i in range(1, 5)]
    for stage in parts[:frozen_stages + 1] if frozen_stages >= 0 else []:
        for m in stage:
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)


def deform_conv_sampled(x, offset, weight, padding=1):
    """DCNv1 (stride 1, no bias, one offset group) as bilinear sampling with
    F.grid_sample followed by a 1x1 convolution: the same function as
    torchvision.ops.deform_conv2d (kernel point k = (ky, kx) row-major samples
    x at (i - pad + ky + dy_k, j - pad + kx + dx_k), zero outside the map),
    for training only.  torchvision's CPU kernels took ~85 % of the training
    step (backward ~2.8 s per batch of 16 192x192 crops); this form is several
    times faster.  Export and evaluation use the real deform_conv2d."""
    b, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    k = kh * kw
    ho, wo = offset.shape[2:]
    if h < 2 or w < 2 or (ho, wo) != (h, w):
        return torchvision.ops.deform_conv2d(x, offset, weight, None, padding=padding)
    off = offset.view(b, k, 2, ho, wo)
    ky = torch.arange(kh, dtype=x.dtype).repeat_interleave(kw)
    kx = torch.arange(kw, dtype=x.dtype).repeat(kh)
    by = torch.arange(ho, dtype=x.dtype)[None, :, None] - padding + ky[:, None, None]
    bx = torch.arange(wo, dtype=x.dtype)[None, None, :] - padding + kx[:, None, None]
    gy = (by[None] + off[:, :, 0]) * (2.0 / (h - 1)) - 1.0
    gx = (bx[None] + off[:, :, 1]) * (2.0 / (w - 1)) - 1.0
    grid = torch.stack([gx, gy], -1).view(b, k * ho, wo, 2)
    s = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return F.conv2d(s.view(b, c * k, ho, wo), weight.reshape(o, c * k, 1, 1))


def use_fast_dcn(model, enable=True):
    """Swap the head's DeformConv2d forward for deform_conv_sampled (or back);
    parameters and state dict unchanged."""
    for m in model.modules():
        if isinstance(m, V.DeformConv2d):
            if enable:
                assert m.stride == 1
                m.forward = (lambda mod: lambda x, off: deform_conv_sampled(
                    x, off, mod.weight, mod.padding))(m)
            elif "forward" in m.__dict__:
                del m.forward


def head_forward_train(head, x, level):
    """VFNetHead.forward_single as in mmdet training: also returns the
    initial boxes, and the DCN offsets see the initial boxes through a
    gradient multiplier of 0.1 (same values as the export forward)."""
    scale, scale_refine = head.scales[level], head.scales_refine[level]
    stride, reg_denom = head.strides[level], head.reg_denoms[level]
    cls_feat, reg_feat = x, x
    for layer in head.cls_convs:
        cls_feat = layer(cls_feat)
    for layer in head.reg_convs:
        reg_feat = layer(reg_feat)
    reg_feat_init = head.vfnet_reg_conv(reg_feat)
    bbox_pred = scale(head.vfnet_reg(reg_feat_init)).float().exp() * reg_denom
    bbox_pred_gm = (1 - GRADIENT_MUL) * bbox_pred.detach() + GRADIENT_MUL * bbox_pred
    dcn_offset = head.star_dcn_offset(bbox_pred_gm, stride)
    reg_feat = head.relu(head.vfnet_reg_refine_dconv(reg_feat, dcn_offset))
    bbox_pred_refine = scale_refine(head.vfnet_reg_refine(reg_feat)).float().exp()
    bbox_pred_refine = bbox_pred_refine * bbox_pred.detach()
    cls_feat = head.relu(head.vfnet_cls_dconv(cls_feat, dcn_offset))
    cls_score = head.vfnet_cls(cls_feat)
    return cls_score, bbox_pred, bbox_pred_refine


def forward_train(model, x):
    """-> cls [B, P, C] logits, init / refine distances [B, P, 4] with the
    points of all levels concatenated (level order, row-major inside)."""
    feats = model.neck(model.backbone(x))
    outs = [head_forward_train(model.bbox_head, f, i) for i, f in enumerate(feats)]

    def flat(t):
        return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, t.shape[1])
    return tuple(torch.cat([flat(o[k]) for o in outs], 1) for k in range(3))


# ------------------------------------------------------------ geometry

def level_sizes(h, w):
    """Feature map sizes of the levels: ceil(H / s), ceil(W / s)."""
    return [(-(-h // s), -(-w // s)) for s in STRIDES]


def make_points(h, w):
    """Points (x s, y s) of all levels [P, 2], their stride [P] and the
    point count per level."""
    pts, strides, counts = [], [], []
    for (lh, lw), s in zip(level_sizes(h, w), STRIDES):
        ys, xs = torch.meshgrid(torch.arange(lh, dtype=torch.float32),
                                torch.arange(lw, dtype=torch.float32), indexing="ij")
        pts.append(torch.stack([(xs.reshape(-1) + POINT_OFFSET) * s,
                                (ys.reshape(-1) + POINT_OFFSET) * s], 1))
        strides.append(torch.full((lh * lw,), float(s)))
        counts.append(lh * lw)
    return torch.cat(pts), torch.cat(strides), counts


def box_iou_aligned(a, b, eps=1e-6):
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    union = (area_a + area_b - inter).clamp(min=eps)
    return inter / union, union, lt, rb


def giou_loss(pred, target, eps=1e-6):
    """1 - GIoU, elementwise (mmdet giou_loss)."""
    iou, union, _, _ = box_iou_aligned(pred, target, eps)
    enc_lt = torch.min(pred[:, :2], target[:, :2])
    enc_rb = torch.max(pred[:, 2:], target[:, 2:])
    enc_wh = (enc_rb - enc_lt).clamp(min=0)
    enc_area = (enc_wh[:, 0] * enc_wh[:, 1]).clamp(min=eps)
    return 1 - (iou - (enc_area - union) / enc_area)


def atss_assign(points, point_strides, counts, gt_boxes, gt_labels, topk=ATSS_TOPK):
    """ATSS (Zhang et al. 2020; mmdet ATSSAssigner) with one square anchor of
    side ANCHOR_SCALE * stride centred on every point: per level the topk
    points closest to the GT centre are candidates, positives are the
    candidates with IoU >= mean + std (of the GT's candidate IoUs) whose point
    lies inside the GT; a point claimed by several GTs takes the one of
    highest IoU.  Returns labels [P] (NUM_CLASSES = background) and target
    boxes [P, 4]."""
    P = points.shape[0]
    labels = torch.full((P,), NUM_CLASSES, dtype=torch.int64)
    targets = torch.zeros((P, 4), dtype=torch.float32)
    M = gt_boxes.shape[0]
    if M == 0:
        return labels, targets
    half = 0.5 * ANCHOR_SCALE * point_strides
    anchors = torch.stack([points[:, 0] - half, points[:, 1] - half,
                           points[:, 0] + half, points[:, 1] + half], 1)
    ious = torchvision.ops.box_iou(anchors, gt_boxes)                         # [P, M]
    gc = torch.stack([(gt_boxes[:, 0] + gt_boxes[:, 2]) / 2,
                      (gt_boxes[:, 1] + gt_boxes[:, 3]) / 2], 1)
    dist = torch.cdist(points, gc)                                           # [P, M]
    cands, start = [], 0
    for n in counts:
        k = min(topk, n)
        _, idx = dist[start:start + n].topk(k, dim=0, largest=False)
        cands.append(idx + start)
        start += n
    cand = torch.cat(cands, 0)                                               # [K, M]
    gidx = torch.arange(M).expand_as(cand)
    cand_iou = ious[cand, gidx]
    thr = cand_iou.mean(0) + cand_iou.std(0)
    is_pos = cand_iou >= thr[None, :]
    cx, cy = points[cand, 0], points[cand, 1]
    inside = torch.stack([cx - gt_boxes[:, 0], cy - gt_boxes[:, 1],
                          gt_boxes[:, 2] - cx, gt_boxes[:, 3] - cy], 0).min(0).values > 0.01
    is_pos &= inside
    ov = torch.full((P, M), -math.inf)
    ov[cand[is_pos], gidx[is_pos]] = ious[cand[is_pos], gidx[is_pos]]
    best, arg = ov.max(1)
    pos = best > -math.inf
    labels[pos] = gt_labels[arg[pos]]
    targets[pos] = gt_boxes[arg[pos]]
    return labels, targets


def vfnet_loss(cls, reg_init, reg_refine, points, labels, targets):
    """mmdet VFNetHead.loss: varifocal loss (alpha 0.75, gamma 2, IoU-weighted)
    on the IoU-aware scores with target = IoU(refined box, GT) at the GT class
    of positives, GIoU losses on the initial (weight 1.5) and refined (2.0)
    boxes, each weighted by its own IoU with the GT.  Inputs flattened over
    the batch: cls [N, C], reg_* [N, 4], points [N, 2], labels [N], targets
    [N, 4]."""
    pos = labels < NUM_CLASSES
    num_pos = max(int(pos.sum()), 1)
    cls_target = torch.zeros_like(cls)
    zero = cls.sum() * 0
    if pos.any():
        p = points[pos]
        t = targets[pos]

        def decode(d):
            return torch.stack([p[:, 0] - d[:, 0], p[:, 1] - d[:, 1],
                                p[:, 0] + d[:, 2], p[:, 1] + d[:, 3]], 1)
        b_ini = decode(reg_init[pos])
        b_rf = decode(reg_refine[pos])
        iou_ini = box_iou_aligned(b_ini.detach(), t)[0].clamp(min=1e-6)
        iou_rf = box_iou_aligned(b_rf.detach(), t)[0].clamp(min=1e-6)
        l_ini = (giou_loss(b_ini, t) * iou_ini).sum() / iou_ini.sum().clamp(min=1.0)
        l_rf = (giou_loss(b_rf, t) * iou_rf).sum() / iou_rf.sum().clamp(min=1.0)
        l_ini = W_BBOX_INIT * l_ini
        l_rf = W_BBOX_REFINE * l_rf
        cls_target[pos.nonzero()[:, 0], labels[pos]] = iou_rf
        mean_iou = float(iou_rf.mean())
    else:
        l_ini = l_rf = zero
        mean_iou = 0.0
    prob = cls.sigmoid().detach()
    weight = torch.where(cls_target > 0, cls_target,
                         VFL_ALPHA * (prob - cls_target).abs().pow(VFL_GAMMA))
    l_cls = (F.binary_cross_entropy_with_logits(cls, cls_target, reduction="none")
             * weight).sum() / num_pos
    total = l_cls + l_ini + l_rf
    return total, dict(cls=float(l_cls), bbox=float(l_ini), bbox_rf=float(l_rf),
                       iou=mean_iou, npos=num_pos)


# -------------------------------------------------------- preprocessing

def letterbox_layout(h, w, out_h=INPUT_H, out_w=INPUT_W):
    """(new_w, new_h, left, top) of the YOLO letterbox (= the C runtime's
    odet_preprocess_plan for ODET_PRE_LETTERBOX)."""
    r = min(out_h / h, out_w / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    nw, nh = min(max(nw, 1), out_w), min(max(nh, 1), out_h)
    left = int(round((out_w - nw) / 2 - 0.1))
    top = int(round((out_h - nh) / 2 - 0.1))
    return nw, nh, left, top


def to_tensor_layout(img_u8_or_f32_bgr):
    """HWC BGR (uint8 0..255 or float 0..1 scaled to 0..255) -> normalised
    CHW float32 in the model's channel order."""
    x = img_u8_or_f32_bgr.astype(np.float32) / 255.0
    if CHANNEL_ORDER == "RGB":
        x = x[:, :, ::-1]
    mean, std = (MEAN, STD)
    return np.ascontiguousarray(((x - mean) / std).transpose(2, 0, 1))


def preprocess(img_bgr):
    """The contract: letterbox into INPUT_H x INPUT_W (as
    tests/models/make_preprocess_goldens.py letterbox()), normalise.
    Returns (CHW float32, layout dict)."""
    h, w = img_bgr.shape[:2]
    nw, nh, left, top = letterbox_layout(h, w)
    im = img_bgr
    if (w, h) != (nw, nh):
        im = U.cv2.resize(img_bgr, (nw, nh), interpolation=U.cv2.INTER_LINEAR)
    im = U.cv2.copyMakeBorder(im, top, INPUT_H - nh - top, left, INPUT_W - nw - left,
                              U.cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return to_tensor_layout(im), dict(w=w, h=h, nw=nw, nh=nh, left=left, top=top)


# --------------------------------------------------------------- decode

def _nms_per_class(boxes, scores, labels, iou_thr):
    """torchvision.ops.batched_nms's per-class path (_batched_nms_vanilla:
    torchvision.ops.nms on each class): float32 arithmetic as the C runtime.
    (batched_nms switches to a coordinate-offset trick below 1000 boxes,
    which shifts float32 coordinates by class * (max + 1) and rounds them.)"""
    keep_mask = torch.zeros_like(scores, dtype=torch.bool)
    for c in torch.unique(labels):
        idx = torch.where(labels == c)[0]
        k = torchvision.ops.nms(boxes[idx], scores[idx], iou_thr)
        keep_mask[idx[k]] = True
    return keep_mask


@torch.no_grad()
def decode(cls_list, box_list, lay, score_thr=0.001, max_dets=MAX_DETS,
           pre_nms_top_k=PRE_NMS_TOP_K, iou_thr=NMS_IOU):
    """One image's outputs (per level cls [C, H, W] logits, box [4, H, W]
    distances, float32) -> (boxes [N, 4] float64 image pixels, scores [N],
    labels [N]), like models/adapter_vfnet.c vf_decode + odet_rank_ws."""
    w, h, nw, nh, left, top = (lay[k] for k in ("w", "h", "nw", "nh", "left", "top"))
    sx, sy = nw / w, nh / h                      # L->transform m[0], m[4] (double)
    min_x = np.float32(max(left, left))          # fmax(content_x, m[2])
    min_y = np.float32(max(top, top))
    max_x = np.float32(min(left + nw, sx * w + left))
    max_y = np.float32(min(top + nh, sy * h + top))
    thr = float(np.float32(score_thr))           # float threshold, compared in double
    all_boxes, all_scores, all_labels = [], [], []
    for l, (cs, bp) in enumerate(zip(cls_list, box_list)):
        stride = float(STRIDES[l])
        nc, lh, lw = cs.shape
        sc = cs.reshape(nc, -1).t().float()                        # [HW, C]
        b = bp.reshape(4, -1).float()
        ys, xs = torch.meshgrid(torch.arange(lh, dtype=torch.float32),
                                torch.arange(lw, dtype=torch.float32), indexing="ij")
        px = (xs.reshape(-1) + np.float32(POINT_OFFSET)) * np.float32(stride)
        py = (ys.reshape(-1) + np.float32(POINT_OFFSET)) * np.float32(stride)
        x1 = (px - b[0]).clamp(float(min_x), float(max_x))
        y1 = (py - b[1]).clamp(float(min_y), float(max_y))
        x2 = (px + b[2]).clamp(float(min_x), float(max_x))
        y2 = (py + b[3]).clamp(float(min_y), float(max_y))
        bb = torch.stack([((x1.double() - left) / sx), ((y1.double() - top) / sy),
                          ((x2.double() - left) / sx), ((y2.double() - top) / sy)], 1).float()
        n = sc.shape[0]
        if pre_nms_top_k and n > pre_nms_top_k:
            # odet_topk: best raw max-class logit first, lower index on ties
            lm = sc.max(1).values
            sel = torch.sort(lm, descending=True, stable=True).indices[:pre_nms_top_k]
        else:
            sel = torch.arange(n)
        v = sc[sel].double()
        prob = (1.0 / (1.0 + torch.exp(-v))).float()              # sigmoid in double -> float
        mask = prob.double() > thr
        a, c = mask.nonzero(as_tuple=True)                          # anchor-major order
        all_boxes.append(bb[sel[a]])
        all_scores.append(prob[a, c])
        all_labels.append(c)
    boxes = torch.cat(all_boxes)
    scores = torch.cat(all_scores)
    labels = torch.cat(all_labels)
    if len(scores) == 0:
        return np.zeros((0, 4)), np.zeros((0,), np.float32), np.zeros((0,), np.int64)
    keep = _nms_per_class(boxes, scores, labels, float(np.float32(iou_thr)))
    # C: rank = score descending, candidate order among equal scores
    order = torch.sort(scores, descending=True, stable=True).indices
    order = order[keep[order]][:max_dets]
    return (boxes[order].double().numpy(), scores[order].numpy(), labels[order].numpy())


@torch.no_grad()
def detect_torch(model, img_bgr, score_thr=0.001, max_dets=100):
    """Full pipeline on one cv2 (BGR) image -> (boxes_xyxy [N, 4] float64 in
    image pixels, scores [N], labels [N] 0-based), sorted by score."""
    x, lay = preprocess(img_bgr)
    outs = model(torch.from_numpy(x)[None])
    nl = len(outs) // 2
    return decode([o[0] for o in outs[:nl]], [o[0] for o in outs[nl:]], lay,
                  score_thr=score_thr, max_dets=max_dets)


# ----------------------------------------------------------- evaluation

@torch.no_grad()
def eval_set(model, data, score_thr=0.001, batch=32, report_thr=0.3, coco=False):
    """Contract preprocessing + decode on (jpeg, w, h, objects) items; AP50
    (centernet_train_utils.evaluate) and optionally COCO AP@[.5:.95]."""
    model.eval()
    dets, gts = [], []
    for b0 in range(0, len(data), batch):
        items = data[b0:b0 + batch]
        pre = [preprocess(U.decode_jpeg_bgr(it[0])) for it in items]
        outs = model(torch.from_numpy(np.stack([p[0] for p in pre])))
        nl = len(outs) // 2
        for k, (_, lay) in enumerate(pre):
            bx, sc, lb = decode([o[k] for o in outs[:nl]], [o[k] for o in outs[nl:]], lay,
                                score_thr=score_thr)
            dets.append(np.concatenate([bx, sc[:, None].astype(np.float64),
                                        lb[:, None].astype(np.float64)], 1).reshape(-1, 6))
            gts.append(U.gt_array(items[k][3]))
    r = U.evaluate(dets, gts, score_thr=report_thr)
    if coco:
        aps = [U.evaluate(dets, gts, iou_thr=t, score_thr=report_thr)["ap50"]
               for t in np.linspace(0.5, 0.95, 10)]
        r["ap"] = float(np.mean(aps))
        r["ap75"] = float(aps[5])
    return r, dets, gts


# ----------------------------------------------------------------- train

def make_train_sample(rng, img_bgr, objects, crop, scale_range=(0.6, 1.4), margin=0.1,
                      flip_p=0.5, jitter=0.2, min_visible=0.3):
    """Augmented crop x crop window in letterbox geometry: the image is scaled
    by the letterbox gain r = min(256/h, 256/w) times a log-uniform factor in
    scale_range, optionally mirrored, colour-jittered, and placed at a random
    position (content inside the window if it fits, else the window inside the
    content, +- margin * crop), border 114 as the letterbox bars.  Boxes are
    mapped with the same continuous transform x' = s x + t (pixel i spans
    [i, i + 1], as cv2.resize) and clipped to the window; boxes left smaller
    than 2 px or with less than min_visible of their area are dropped.
    Returns (CHW float32, boxes [M, 4], labels [M])."""
    h, w = img_bgr.shape[:2]
    r = min(INPUT_H / h, INPUT_W / w)
    s = r * math.exp(rng.uniform(math.log(scale_range[0]), math.log(scale_range[1])))
    cw, ch = w * s, h * s

    def place(size):
        lo, hi = min(0.0, crop - size), max(0.0, crop - size)
        return rng.uniform(lo - margin * crop, hi + margin * crop)
    tx, ty = place(cw), place(ch)
    img = img_bgr
    flipped = rng.random() < flip_p
    if flipped:
        img = img[:, ::-1]
    img = np.ascontiguousarray(img)
    if jitter > 0:
        img = np.clip(U.color_jitter(rng, img.astype(np.float32) / 255.0, jitter), 0, 1) * 255.0
    # continuous x' = s x + t  <=>  pixel-centre map j = s i + t + (s - 1) / 2
    M = np.array([[s, 0, tx + 0.5 * (s - 1)], [0, s, ty + 0.5 * (s - 1)]], np.float64)
    out = U.cv2.warpAffine(img.astype(np.float32), M, (crop, crop), flags=U.cv2.INTER_LINEAR,
                           borderMode=U.cv2.BORDER_CONSTANT, borderValue=(float(PAD_VALUE),) * 3)
    boxes, labels = [], []
    for cat, (bx, by, bw, bh), _ in objects:
        x1, x2 = bx, bx + bw
        if flipped:
            x1, x2 = w - x2, w - x1
        full = np.array([x1 * s + tx, by * s + ty, x2 * s + tx, (by + bh) * s + ty])
        b = np.clip(full, 0, crop)
        area = (b[2] - b[0]) * (b[3] - b[1])
        if (b[2] - b[0] >= 2 and b[3] - b[1] >= 2
                and area >= min_visible * (full[2] - full[0]) * (full[3] - full[1])):
            boxes.append(b)
            labels.append(cat - 1)
    return (to_tensor_layout(out), np.asarray(boxes, np.float32).reshape(-1, 4),
            np.asarray(labels, np.int64))


class BatchStream(torch.utils.data.IterableDataset):
    """Endless stream of augmented batches with ATSS targets."""

    def __init__(self, data, a):
        super().__init__()
        self.data, self.a = data, a

    def __iter__(self):
        a = self.a
        rng = C.worker_rng(a.seed)
        points, pstrides, counts = make_points(a.crop, a.crop)
        while True:
            idx = rng.integers(0, len(self.data), a.batch)
            xs, labs, tgts, ngt = [], [], [], 0
            for i in idx:
                x, bx, lb = make_train_sample(rng, U.decode_jpeg_bgr(self.data[i][0]),
                                              self.data[i][3], a.crop, tuple(a.scale_range),
                                              jitter=a.jitter)
                l, t = atss_assign(points, pstrides, counts, torch.from_numpy(bx),
                                   torch.from_numpy(lb))
                xs.append(x)
                labs.append(l)
                tgts.append(t)
                ngt += len(bx)
            yield dict(input=torch.from_numpy(np.stack(xs)), labels=torch.stack(labs),
                       targets=torch.stack(tgts), ngt=ngt)


def save(model, path, it, sm, a, wall=None, extra=None):
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    ck = dict(state_dict=sd, arch="vfnet", size=SIZE, config=CFG, iterations=it,
              smoothed_loss=sm, wall_seconds=wall, args=vars(a))
    ck.update(extra or {})
    torch.save(ck, path + ".tmp")
    os.replace(path + ".tmp", path)


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    lf = open(os.path.join(a.out_dir, "train.log"), "a")
    log("args: " + json.dumps(vars(a)), lf)
    seeds = parse_seeds(a.train_seeds)
    if any(s >= 9000 for s in seeds):
        raise SystemExit("training seeds must be < 9000 (9000+ are held out)")
    if a.crop % STRIDES[-1]:
        raise SystemExit(f"--crop must be a multiple of {STRIDES[-1]}")
    cfg = Config(size_range=tuple(a.size_range))
    t0 = time.time()
    data = []
    for s in seeds:
        data += U.cached_set(a.cache_dir, s, a.per_seed, cfg, a.jobs)
    val = U.cached_set(a.cache_dir, a.eval_seed, a.eval_count, cfg, a.jobs)
    n_obj = sum(len(d[3]) for d in data)
    log(f"data: {len(data)} train images ({n_obj} objects), {len(val)} eval images "
        f"(seed {a.eval_seed}), {time.time() - t0:.0f}s", lf)

    model = build_model()
    if a.init_from:
        init_trunk(model, a.init_from, lf)
    if a.resume:
        model.load_state_dict(torch.load(a.resume, map_location="cpu")["state_dict"])
        log(f"resumed weights from {a.resume}", lf)
    set_train_mode(model, a.frozen_stages)
    use_fast_dcn(model, True)
    n_par = sum(p.numel() for p in model.parameters())
    n_tr = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"model: {n_par} parameters ({n_tr} trained), crop {a.crop}, "
        f"frozen stages {a.frozen_stages}", lf)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999))
    budget = a.minutes * 60.0

    def lr_at(it, p):
        warm = min(1.0, (it + 1) / a.warmup)
        cos = a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
        return a.lr * warm * cos

    loader = iter(torch.utils.data.DataLoader(
        BatchStream(data, a), batch_size=None, num_workers=a.workers,
        prefetch_factor=4 if a.workers else 2, persistent_workers=a.workers > 0))
    points, _, _ = make_points(a.crop, a.crop)
    pts_b = points.repeat(a.batch, 1)

    book = C.LoopBook(a, decay=0.98)
    t_start = book.t_start
    it, sm = 0, None
    while True:
        elapsed = time.time() - t_start
        p = it / a.iters if a.iters else elapsed / budget
        if p >= 1.0:
            break
        lr = lr_at(it, p)
        for g in opt.param_groups:
            g["lr"] = lr
        b = next(loader)
        cls, r_ini, r_rf = forward_train(model, b["input"])
        loss, parts = vfnet_loss(cls.reshape(-1, NUM_CLASSES), r_ini.reshape(-1, 4),
                                 r_rf.reshape(-1, 4), pts_b, b["labels"].reshape(-1),
                                 b["targets"].reshape(-1, 4))
        if not torch.isfinite(loss):
            log(f"non-finite loss at it {it}: {parts}; batch skipped", lf)
            continue
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip_grad:
            torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad],
                                           a.clip_grad)
        opt.step()
        it += 1
        cur = dict(loss=float(loss), **{k: parts[k] for k in ("cls", "bbox", "bbox_rf", "iou")},
                   pos_per_gt=parts["npos"] / max(int(b["ngt"]), 1))
        sm = book.update(cur)
        do_log, do_ck, do_eval = book.due(it)
        if do_log:
            ips, el = book.speed(it)
            log(f"it {it} p {p:.3f} lr {lr:.2e} loss {sm['loss']:.4f} vfl {sm['cls']:.4f} "
                f"giou {sm['bbox']:.4f} giou_rf {sm['bbox_rf']:.4f} iou {sm['iou']:.3f} "
                f"pos/gt {sm['pos_per_gt']:.1f} | {ips:.1f} img/s {el:.0f}s", lf)
        if do_ck:
            save(model, os.path.join(a.out_dir, "last.pth"), it, sm, a)
        if do_eval:
            r, _, _ = eval_set(model, val[:100])
            set_train_mode(model, a.frozen_stages)
            log(f"eval@{it} (100 imgs): AP50 {r['ap50']:.4f} recall@0.3 {r['recall']:.4f} "
                f"precision@0.3 {r['precision']:.4f}", lf)
            book.evaluated()
    wall = time.time() - t_start
    log(f"done: {it} iterations, {it * a.batch} images, {wall / 60:.1f} min; final smoothed "
        f"loss {sm['loss']:.4f} vfl {sm['cls']:.4f} giou {sm['bbox']:.4f} "
        f"giou_rf {sm['bbox_rf']:.4f}", lf)
    use_fast_dcn(model, False)
    model.eval()
    final = os.path.join(a.out_dir, "final.pth")
    r, _, _ = eval_set(model, val, coco=True)
    save(model, final, it, sm, a, wall=wall, extra=dict(eval_ap50=r["ap50"], eval_ap=r["ap"]))
    log(f"eval seed {a.eval_seed} ({len(val)} imgs): AP50 {r['ap50']:.4f} AP {r['ap']:.4f} "
        f"AP75 {r['ap75']:.4f} recall@0.3 {r['recall']:.4f} precision@0.3 {r['precision']:.4f}",
        lf)
    log("per class AP50: " + json.dumps({k: round(v, 4) for k, v in r["ap50_per_class"].items()}),
        lf)
    with open(os.path.join(a.out_dir, "result.json"), "w") as f:
        json.dump(dict(iterations=it, images=it * a.batch, wall_minutes=wall / 60,
                       final_loss=sm, eval=r, args=vars(a)), f, indent=1)
    return 0


# --------------------------------------------------------- eval / export

def cmd_eval(a):
    torch.set_num_threads(a.threads)
    model = load_model(a.checkpoint)
    cfg = Config(size_range=tuple(a.size_range))
    data = U.render_set(a.seed, a.count, cfg, a.jobs)
    r, _, _ = eval_set(model, data, score_thr=a.score_min, report_thr=a.score_threshold,
                       coco=True)
    print(json.dumps(r, indent=1))
    return 0


def _onnx_eval(proto, x, dtype=torch.float32):
    """Evaluate the exported graph node by node with torch (the op types this
    model exports), an ONNX check without an ONNX runtime.  With dtype
    float64 every float tensor of the graph is promoted (a check of the
    graph's function free of float32 rounding)."""
    from onnx import helper, numpy_helper

    def tensor(t):
        v = torch.from_numpy(numpy_helper.to_array(t).copy())
        return v.to(dtype) if v.is_floating_point() else v
    env = {t.name: tensor(t) for t in proto.graph.initializer}
    env[proto.graph.input[0].name] = x.to(dtype)
    np_dtype = {1: dtype, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}
    for node in proto.graph.node:
        at = {q.name: helper.get_attribute_value(q) for q in node.attribute}
        ins = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            pads = at.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:], pads
            y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                         stride=tuple(at.get("strides", [1, 1])), padding=tuple(pads[:2]),
                         dilation=tuple(at.get("dilations", [1, 1])), groups=at.get("group", 1))
        elif op == "DeformConv":
            pads = at.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:] and at.get("group", 1) == 1
            bias = ins[3] if len(ins) > 3 else None
            mask = ins[4] if len(ins) > 4 else None
            y = torchvision.ops.deform_conv2d(ins[0], ins[2], ins[1], bias,
                                              stride=tuple(at.get("strides", [1, 1])),
                                              padding=tuple(pads[:2]),
                                              dilation=tuple(at.get("dilations", [1, 1])),
                                              mask=mask)
        elif op == "BatchNormalization":
            y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0,
                             at.get("epsilon", 1e-5))
        elif op == "InstanceNormalization":
            y = F.instance_norm(ins[0], weight=ins[1], bias=ins[2], eps=at.get("epsilon", 1e-5))
        elif op == "MaxPool":
            pads = at.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(ins[0], tuple(at["kernel_shape"]), tuple(at.get("strides", [1, 1])),
                             tuple(pads[:2]), ceil_mode=bool(at.get("ceil_mode", 0)))
        elif op == "Resize":
            assert at.get("mode", b"nearest") in (b"nearest", "nearest"), at
            sizes = ins[3] if len(ins) > 3 and ins[3] is not None and ins[3].numel() else None
            if sizes is not None:
                y = F.interpolate(ins[0], size=[int(v) for v in sizes[2:]], mode="nearest")
            else:
                y = F.interpolate(ins[0], scale_factor=[float(v) for v in ins[2][2:]],
                                  mode="nearest")
        elif op == "Relu":
            y = torch.relu(ins[0])
        elif op == "Exp":
            y = torch.exp(ins[0])
        elif op == "Neg":
            y = -ins[0]
        elif op in ("Add", "Sub", "Mul", "Div"):
            y = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul,
                 "Div": torch.div}[op](ins[0], ins[1])
        elif op == "Concat":
            y = torch.cat(ins, dim=at["axis"])
        elif op == "Constant":
            y = tensor(at["value"])
        elif op == "ConstantOfShape":
            v = at.get("value")
            fill = tensor(v) if v is not None else torch.zeros(1, dtype=dtype)
            y = fill.reshape(()).expand([int(d) for d in ins[0]]).clone()
        elif op == "Shape":
            y = torch.tensor(list(ins[0].shape), dtype=torch.int64)
        elif op == "Cast":
            y = ins[0].to(np_dtype[at["to"]])
        elif op == "Identity":
            y = ins[0]
        elif op == "Reshape":
            y = ins[0].reshape([int(d) if int(d) != 0 else ins[0].shape[i]
                                for i, d in enumerate(ins[1])])
        elif op == "Slice":
            y = ins[0]
            axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None \
                else list(range(len(ins[1])))
            steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(axes)
            for st, en, ax, sp in zip(ins[1].tolist(), ins[2].tolist(), axes, steps):
                assert sp == 1
                n = y.shape[ax]
                st = max(st + n, 0) if st < 0 else min(st, n)
                en = max(en + n, 0) if en < 0 else min(en, n)
                y = y.narrow(ax, st, max(en - st, 0))
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return [env[o.name] for o in proto.graph.output]


def cmd_export(a):
    """Slim checkpoint (state dict + config) and ONNX through export.py's own
    path (export.make_model(vfnet, shapes, checkpoint) + export.export), with
    odet.train_ap50 / odet.eval_seed added; then the graph is checked against
    PyTorch eager on a real image."""
    import onnx
    import common
    import export as E
    torch.set_num_threads(a.threads)
    ck = torch.load(a.checkpoint, map_location="cpu")
    slim = dict(state_dict=ck["state_dict"], arch="vfnet", size=SIZE, config=CFG,
                class_names=list(CLASSES), iterations=ck.get("iterations"),
                wall_seconds=ck.get("wall_seconds"), smoothed_loss=ck.get("smoothed_loss"),
                eval_seed=9001, eval_ap50=a.ap50, init="models/default/centernet_shapes.pth "
                "(trunk)", train_args=ck.get("args"))
    os.makedirs(os.path.dirname(os.path.abspath(a.pth_out)), exist_ok=True)
    torch.save(slim, a.pth_out)
    print(f"{a.pth_out}: {os.path.getsize(a.pth_out) / 1e6:.2f} MB")

    model, spec = E.make_model("vfnet", SIZE, 0, a.pth_out)
    spec["metadata"]["odet.train_ap50"] = f"{a.ap50:.4f}"
    spec["metadata"]["odet.eval_seed"] = "9001"
    proto = E.export(model, spec, None)
    img = U.cv2.imread(a.check_image, U.cv2.IMREAD_COLOR)
    x = torch.from_numpy(preprocess(img)[0])[None]
    ref_model = load_model(a.pth_out)
    with torch.no_grad():
        ref = ref_model(x)
        got = _onnx_eval(proto, x)
        same = model(x)
        ref64 = ref_model.double()(x.double())
        got64 = _onnx_eval(proto, x, torch.float64)
    ok = True
    for name, r, g, s, r64, g64 in zip(spec["output_names"], ref, got, same, ref64, got64):
        err = float((r - g).abs().max())
        rel = err / max(float(r.abs().max()), 1e-12)
        err2 = float((r - s).abs().max())
        err64 = float((r64 - g64).abs().max())
        print(f"ONNX graph vs PyTorch eager {name} {tuple(r.shape)}: float32 max abs diff "
              f"{err:.2e} (max |value| {float(r.abs().max()):.1f}, relative {rel:.1e}); "
              f"float64 {err64:.1e}; export.make_model vs load_model {err2:.1e}")
        # 1e-4 absolute, or a few float32 ulp of the largest value for the
        # pixel distances (values of hundreds have an ulp of 3e-5 .. 6e-5).
        # torch.onnx folds the trunk's BatchNorm into the convolutions in
        # float32, so even the float64 evaluation differs at ~1e-7 relative.
        scale = max(float(r.abs().max()), 1.0)
        ok &= (err < 1e-4 or rel < 1e-6) and err64 / scale < 1e-6 and err2 == 0.0
    assert ok, "ONNX graph and PyTorch disagree"
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(proto, a.out)
    print(f"{a.out}: opset {common.opset_version(proto)}, {len(proto.graph.node)} nodes, "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB; ops: {' '.join(common.op_types(proto))}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    C.add_data_args(t)
    t.add_argument("--init-from", default=DEFAULT_INIT,
                   help="CenterNet checkpoint whose trunk initialises the backbone ('' = none)")
    t.add_argument("--resume", help="start from this checkpoint's weights")
    t.add_argument("--frozen-stages", type=int, default=1,
                   help="freeze stem (0) .. layerN (N) of the trunk, mmdet style (-1: none)")
    t.add_argument("--crop", type=int, default=192, help="training window (multiple of 64)")
    t.add_argument("--scale-range", type=float, nargs=2, default=(0.6, 1.4))
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--min-lr-frac", type=float, default=0.02)
    t.add_argument("--wd", type=float, default=1e-2)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--clip-grad", type=float, default=10.0)
    t.add_argument("--minutes", type=float, default=55.0,
                   help="wall-clock budget: cosine LR over elapsed/budget")
    t.add_argument("--iters", type=int, default=0,
                   help="fixed iteration count instead of the time budget")
    t.add_argument("--jitter", type=float, default=0.2)
    C.add_run_args(t, eval_every=15.0, jobs=1)
    e = sub.add_parser("eval")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--seed", type=int, default=9001)
    e.add_argument("--count", type=int, default=300)
    e.add_argument("--size-range", type=int, nargs=2, default=(192, 512))
    e.add_argument("--score-min", type=float, default=0.001, help="decode score threshold")
    e.add_argument("--score-threshold", type=float, default=0.3,
                   help="threshold for the recall/precision figures")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--jobs", type=int, default=1)
    x = sub.add_parser("export")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", required=True)
    x.add_argument("--pth-out", required=True, help="slim checkpoint (state dict + config)")
    x.add_argument("--ap50", type=float, required=True, help="held-out AP50 to record")
    x.add_argument("--check-image", default=os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                                         "examples", "shapes_640x480.jpg"))
    x.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    return {"train": train, "eval": cmd_eval, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
