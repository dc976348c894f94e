#!/usr/bin/python3
"""Train, evaluate and export a small DETR on the synthetic shapes.

    train_detr.py train  --out-dir DIR [--minutes M | --iters N] ...
    train_detr.py eval   --checkpoint FILE [--seed 9001 --count 300]
    train_detr.py export --checkpoint FILE --out FILE.onnx --ap50 X
                         [--pth-out FILE] [--check-image IMG]

The network is models/export/detr.py's DETR (official module names) with
``CONFIGS["shapes"]``: the compact ResNet-18 trunk of the shapes CenterNet
(initialised from models/default/centernet_shapes.pth) cut after layer3
(C4, stride 16), a 2-encoder / 3-decoder transformer (d_model 128) and 25
queries.  Training follows facebookresearch/detr (Hungarian matching with
class + L1 + GIoU costs, CE with eos_coef 0.1, L1 + GIoU box losses,
auxiliary decoder losses, frozen batch norm, stem and layer1 frozen, AdamW
with a lower backbone LR, gradient clipping 0.1).  See TRAINING.md.

Preprocessing (replicated exactly by the C runtime, ``odet.preprocess=
letterbox``): cv2 BGR image, YOLO letterbox into 256x256 (``cv2.resize``
INTER_LINEAR to (round(w*r), round(h*r)), r = min(256/h, 256/w), centred
at offsets round(d/2 - 0.1), grey 114 bars), ``(x/255 - mean)/std`` with
CenterNet's BGR mean/std, HWC -> CHW.  ``pred_boxes`` are normalised
cx, cy, w, h of the 256x256 tensor, bars included.

Reusable: :func:`load_model`, :func:`detect_torch`, :func:`letterbox`,
:func:`preprocess`, :func:`postprocess`.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import centernet_train_utils as U  # noqa: E402  (also puts models/export on sys.path)
import train_common as C  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torchvision.ops import box_convert, generalized_box_iou  # noqa: E402

import detr as D  # noqa: E402
from synth import CLASSES, Config  # noqa: E402
from train_centernet import log, parse_seeds  # noqa: E402

cv2 = U.cv2
SIZE = "shapes"
CFG = D.CONFIGS[SIZE]
IN_H, IN_W = CFG["input_hw"]
MEAN = np.array(CFG["mean"], np.float32)   # in the tensor's channel order (BGR)
STD = np.array(CFG["std"], np.float32)
BORDER = 114
NUM_CLASSES = CFG["num_classes"]
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_INIT = os.path.join(REPO, "models", "default", "centernet_shapes.pth")
assert tuple(CFG["class_names"]) == tuple(CLASSES), "detr.py shapes class names != synth.CLASSES"
assert CFG["channel_order"] == "BGR"


# ------------------------------------------------------ pre/postprocessing

def letterbox_layout(h: int, w: int, new_hw=(IN_H, IN_W)):
    """YOLO letterbox geometry (tests/models/make_preprocess_goldens.py):
    content size (nw, nh) and top-left offset (left, top)."""
    r = min(new_hw[0] / h, new_hw[1] / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    left = int(round((new_hw[1] - nw) / 2 - 0.1))
    top = int(round((new_hw[0] - nh) / 2 - 0.1))
    return nw, nh, left, top


def letterbox(im: np.ndarray, new_hw=(IN_H, IN_W), color=(BORDER,) * 3):
    """Exactly tests/models/make_preprocess_goldens.py's letterbox()
    (ultralytics, auto=False).  Returns (image, (nw, nh), (left, top))."""
    h, w = im.shape[:2]
    nw, nh, left, top = letterbox_layout(h, w, new_hw)
    if (w, h) != (nw, nh):
        im = cv2.resize(im, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (new_hw[1] - nw) / 2, (new_hw[0] - nh) / 2
    bottom, right = int(round(dh + 0.1)), int(round(dw + 0.1))
    out = cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT, value=color)
    return out, (nw, nh), (left, top)


def normalize(img_u8_or_unit: np.ndarray, unit: bool = False) -> np.ndarray:
    """HWC (uint8, or float in 0..1 if ``unit``) in the model's channel
    order (BGR) -> CHW float32 (x/255 - mean)/std."""
    x = img_u8_or_unit.astype(np.float32)
    if not unit:
        x = x / 255.
    return ((x - MEAN) / STD).transpose(2, 0, 1)


def preprocess(img_bgr: np.ndarray):
    """The deployment contract.  Returns (CHW float32, layout) where layout
    = (gain_x, gain_y, left, top): tensor = image * gain + offset."""
    h, w = img_bgr.shape[:2]
    lb, (nw, nh), (left, top) = letterbox(img_bgr)
    # model channel order is BGR = cv2's: no conversion
    return normalize(lb), (nw / w, nh / h, left, top)


def postprocess(logits: torch.Tensor, boxes: torch.Tensor, layout, score_thr: float = 0.001,
                max_dets: int = 100):
    """torchvision-style DETR PostProcess for one image: softmax, drop the
    no-object class, max over classes, cxcywh -> xyxy times the tensor size,
    then the letterbox undone ((x - offset) / gain, per axis as the C
    runtime: gain = content size / image size).  Sorted by score
    (descending, ties in query order), score >= score_thr, top max_dets.
    Returns (boxes_xyxy [N,4] float64 image pixels, scores [N], labels [N])."""
    prob = F.softmax(logits.float(), -1)[..., :-1]
    scores, labels = prob.max(-1)
    xyxy = box_convert(boxes.float(), "cxcywh", "xyxy").double()
    gx, gy, left, top = layout
    xyxy = xyxy * torch.tensor([IN_W, IN_H, IN_W, IN_H], dtype=torch.float64)
    xyxy = (xyxy - torch.tensor([left, top, left, top], dtype=torch.float64)) \
        / torch.tensor([gx, gy, gx, gy], dtype=torch.float64)
    scores = scores.numpy().astype(np.float64)
    labels = labels.numpy().astype(np.int64)
    xyxy = xyxy.numpy()
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] >= score_thr][:max_dets]
    return xyxy[order], scores[order], labels[order]


@torch.no_grad()
def detect_torch(model, img_bgr: np.ndarray, score_thr: float = 0.001, max_dets: int = 100):
    """Full pipeline on one cv2 BGR image: (boxes_xyxy [N,4] float64 in
    original-image pixels, scores [N], labels [N] 0-based)."""
    x, layout = preprocess(img_bgr)
    logits, boxes = model(torch.from_numpy(x)[None])
    return postprocess(logits[0], boxes[0], layout, score_thr, max_dets)


def load_model(pth_path: str):
    """DETR shapes model from a train_detr.py checkpoint or the shipped
    models/zoo/detr_shapes.pth, in eval mode."""
    ck = torch.load(pth_path, map_location="cpu")
    sd = ck["state_dict"] if isinstance(ck, dict) and "state_dict" in ck else ck
    cfg = ck.get("config") if isinstance(ck, dict) else None
    if cfg is not None and dict(cfg) != dict(CFG):
        print(f"warning: {pth_path}: config differs from detr.CONFIGS['shapes']", file=sys.stderr)
    model, _ = D.build(SIZE)
    model.load_state_dict(sd)
    model.eval()
    return model


# -------------------------------------------------------------- evaluation

def eval_set(model, data, batch: int = 32, score_thr: float = 0.3):
    """Deployment pipeline on (jpeg, w, h, objects) items (batched: every
    image becomes the same 256x256 tensor).  AP50 (per class), COCO-style
    AP@[.5:.95] (same greedy matcher and 101-point interpolation), recall and
    precision at score_thr."""
    model.eval()
    dets, gts = [], []
    with torch.no_grad():
        for b0 in range(0, len(data), batch):
            items = data[b0:b0 + batch]
            pre = [preprocess(U.decode_jpeg_bgr(it[0])) for it in items]
            x = torch.from_numpy(np.stack([p[0] for p in pre]))
            logits, boxes = model(x)
            for k, (_, layout) in enumerate(pre):
                b, s, l = postprocess(logits[k], boxes[k], layout, 0.0, 100)
                dets.append(np.concatenate([b, s[:, None], l[:, None]], 1))
                gts.append(U.gt_array(items[k][3]))
    r = U.evaluate(dets, gts, score_thr=score_thr)
    aps = [U.evaluate(dets, gts, iou_thr=t, score_thr=score_thr)["ap50"]
           for t in np.linspace(0.5, 0.95, 10)]
    r["ap"] = float(np.mean(aps))
    r["ap75"] = float(aps[5])
    return r, dets, gts


# ---------------------------------------------------------------- training

def make_train_sample(rng: np.random.Generator, img: np.ndarray, objects, a):
    """Augmented letterbox input and DETR targets.  With probability
    ``a.p_exact`` the image is letterboxed exactly as at test time,
    otherwise scaled by s (log-uniform in [a.scale_min, a.scale_max]) relative
    to the letterbox fit and placed at a random position of the grey 256x256
    frame (cropped where it does not fit).  Horizontal flip, colour jitter on
    the image content (the grey bars stay 114).  Boxes are clipped to the
    frame; a box keeping less than 40 % of its area is dropped.
    Returns (CHW float32, labels int64 [M], boxes float32 [M,4] normalised
    cx, cy, w, h)."""
    h, w = img.shape[:2]
    boxes = np.array([[x, y, x + bw, y + bh] for _, (x, y, bw, bh), _ in objects],
                     np.float64).reshape(-1, 4)
    labels = np.array([c - 1 for c, _, _ in objects], np.int64)
    if rng.random() < a.flip:
        img = img[:, ::-1]
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    exact = rng.random() < a.p_exact
    if exact:
        nw, nh, left, top = letterbox_layout(h, w)
    else:
        r = min(IN_H / h, IN_W / w) * math.exp(rng.uniform(math.log(a.scale_min),
                                                           math.log(a.scale_max)))
        nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
        left = int(rng.integers(min(0, IN_W - nw), max(0, IN_W - nw) + 1))
        top = int(rng.integers(min(0, IN_H - nh), max(0, IN_H - nh) + 1))
    img = np.ascontiguousarray(img)
    if (nw, nh) != (w, h):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    # visible part of the content in the frame
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + nw, IN_W), min(top + nh, IN_H)
    crop = img[y0 - top:y1 - top, x0 - left:x1 - left].astype(np.float32) / 255.
    if a.jitter > 0:
        crop = np.clip(U.color_jitter(rng, crop, a.jitter), 0.0, 1.0)
    canvas = np.full((IN_H, IN_W, 3), BORDER / 255., np.float32)
    canvas[y0:y1, x0:x1] = crop
    boxes = boxes * np.array([nw / w, nh / h, nw / w, nh / h]) + np.array([left, top, left, top])
    area0 = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, IN_W)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, IN_H)
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    keep = (bw >= 1) & (bh >= 1) & (bw * bh >= 0.4 * np.maximum(area0, 1e-9))
    boxes, labels = boxes[keep], labels[keep]
    cxcywh = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2 / IN_W, (boxes[:, 1] + boxes[:, 3]) / 2 / IN_H,
                       (boxes[:, 2] - boxes[:, 0]) / IN_W, (boxes[:, 3] - boxes[:, 1]) / IN_H], 1)
    return normalize(canvas, unit=True), labels, cxcywh.astype(np.float32)


class BatchStream(torch.utils.data.IterableDataset):
    """Endless stream of augmented batches: (input [B,3,H,W], [(labels, boxes)])."""

    def __init__(self, data, a):
        super().__init__()
        self.data, self.a = data, a

    def __iter__(self):
        a = self.a
        rng = C.worker_rng(a.seed, 17)
        while True:
            idx = rng.integers(0, len(self.data), a.batch)
            xs, tg = [], []
            for i in idx:
                x, lab, box = make_train_sample(rng, U.decode_jpeg_bgr(self.data[i][0]),
                                                self.data[i][3], a)
                xs.append(x)
                tg.append((torch.from_numpy(lab), torch.from_numpy(box)))
            yield torch.from_numpy(np.stack(xs)), tg


def decoder_forward(dec, tgt, memory, pos, query_pos, self_mask=None):
    """detr.TransformerDecoder.forward (return_intermediate, all-false
    padding mask) with an optional self-attention mask between queries
    (Group DETR: query groups do not see each other).  [L, Q, B, D]."""
    out, inter = tgt, []
    for layer in dec.layers:
        q = k = out + query_pos
        t2 = layer.self_attn(q, k, value=out, attn_mask=self_mask)[0]
        out = layer.norm1(out + layer.dropout1(t2))
        t2 = layer.multihead_attn(query=out + query_pos, key=memory + pos, value=memory)[0]
        out = layer.norm2(out + layer.dropout2(t2))
        t2 = layer.linear2(layer.dropout(layer.activation(layer.linear1(out))))
        out = layer.norm3(out + layer.dropout3(t2))
        inter.append(dec.norm(out))
    return torch.stack(inter)


def forward_all(model, x, extra_queries=None, groups: int = 1):
    """DETR.forward with every decoder layer's outputs (for the auxiliary
    losses): logits [L,B,Q',C+1], boxes [L,B,Q',4].  With ``extra_queries``
    ([(groups-1)*Q, D], training only) the decoder also runs groups-1 more
    query groups, each masked from the others in self-attention (Group
    DETR, Chen et al. 2022); the exported model keeps only group 0, which
    is model.query_embed and sees exactly what DETR.forward computes."""
    mask = x[:, 0] > float("inf")
    features, pos = model.backbone(x, mask)
    src, mask = features[-1]
    tr = model.transformer
    src = model.input_proj(src)
    bs = src.shape[0]
    src = src.flatten(2).permute(2, 0, 1)
    pos_embed = pos[-1].flatten(2).permute(2, 0, 1)
    memory = tr.encoder(src, src_key_padding_mask=mask.flatten(1), pos=pos_embed)
    qe = model.query_embed.weight
    self_mask = None
    if extra_queries is not None and groups > 1:
        qe = torch.cat([qe, extra_queries], 0)
        gid = torch.arange(qe.shape[0]) // model.num_queries
        self_mask = gid[:, None] != gid[None, :]
    query_pos = qe.unsqueeze(1).repeat(1, bs, 1)
    hs = decoder_forward(tr.decoder, torch.zeros_like(query_pos), memory, pos_embed, query_pos,
                         self_mask).transpose(1, 2)
    return model.class_embed(hs), model.bbox_embed(hs).sigmoid()


@torch.no_grad()
def hungarian_match(logits, boxes, targets, w_class=1.0, w_bbox=5.0, w_giou=2.0):
    """DETR's HungarianMatcher: per image, cost = w_class * -p(class) +
    w_bbox * L1(cxcywh) + w_giou * -GIoU, solved with linear_sum_assignment."""
    from scipy.optimize import linear_sum_assignment
    prob = logits.softmax(-1)
    out = []
    for b, (lab, tb) in enumerate(targets):
        if len(lab) == 0:
            e = torch.zeros(0, dtype=torch.int64)
            out.append((e, e))
            continue
        c_class = -prob[b][:, lab]
        c_bbox = torch.cdist(boxes[b], tb, p=1)
        c_giou = -generalized_box_iou(box_convert(boxes[b], "cxcywh", "xyxy"),
                                      box_convert(tb, "cxcywh", "xyxy"))
        c = (w_bbox * c_bbox + w_class * c_class + w_giou * c_giou).numpy()
        i, j = linear_sum_assignment(c)
        out.append((torch.as_tensor(i, dtype=torch.int64), torch.as_tensor(j, dtype=torch.int64)))
    return out


def set_loss(logits, boxes, targets, indices, num_boxes, empty_weight):
    """DETR SetCriterion for one decoder layer: (ce, l1, giou)."""
    bsz, q = logits.shape[:2]
    tcls = torch.full((bsz, q), NUM_CLASSES, dtype=torch.int64)
    bi = torch.cat([torch.full_like(s, b) for b, (s, _) in enumerate(indices)])
    si = torch.cat([s for s, _ in indices])
    tl = torch.cat([t[0][j] for t, (_, j) in zip(targets, indices)])
    tb = torch.cat([t[1][j] for t, (_, j) in zip(targets, indices)])
    tcls[bi, si] = tl
    ce = F.cross_entropy(logits.transpose(1, 2), tcls, empty_weight)
    if len(si) == 0:
        z = boxes.sum() * 0
        return ce, z, z
    sb = boxes[bi, si]
    l1 = F.l1_loss(sb, tb, reduction="sum") / num_boxes
    giou = torch.diag(generalized_box_iou(box_convert(sb, "cxcywh", "xyxy"),
                                          box_convert(tb, "cxcywh", "xyxy")))
    return ce, l1, (1 - giou).sum() / num_boxes


def detr_loss(all_logits, all_boxes, targets, a, empty_weight, num_queries):
    """Sum over decoder layers (last + auxiliary) and query groups of the
    one-to-one set loss; ``parts`` = losses of the last layer, group 0."""
    num_boxes = max(float(sum(len(t[0]) for t in targets)), 1.0)
    total = 0.0
    parts = None
    n_layers = all_logits.shape[0]
    n_groups = all_logits.shape[2] // num_queries
    for layer in range(n_layers):
        for g in range(n_groups):
            sl = slice(g * num_queries, (g + 1) * num_queries)
            lg, bx = all_logits[layer][:, sl], all_boxes[layer][:, sl]
            idx = hungarian_match(lg.detach(), bx.detach(), targets,
                                  a.cost_class, a.cost_bbox, a.cost_giou)
            ce, l1, gi = set_loss(lg, bx, targets, idx, num_boxes, empty_weight)
            total = total + a.w_ce * ce + a.w_bbox * l1 + a.w_giou * gi
            if layer == n_layers - 1 and g == 0:
                parts = dict(ce=float(ce), l1=float(l1), giou=float(gi))
    return total, parts


def frozen_bn_fast_forward(self, x):
    """Same result as detr.FrozenBatchNorm2d.forward as one fused op (training
    speed only; the exported graph uses the original forward)."""
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                        False, 0.0, 1e-5)


def init_from_centernet(model, path, lf=None):
    """Copy the CenterNet trunk (conv1, bn1, layer1..3; official CenterNet
    key names = torchvision's) into backbone.0.body.*."""
    ck = torch.load(path, map_location="cpu")
    sd = ck.get("state_dict", ck)
    own = model.state_dict()
    mapped = {"backbone.0.body." + k: v for k, v in sd.items()
              if "backbone.0.body." + k in own}
    body = [k for k in own if k.startswith("backbone.0.body.")]
    missing = [k for k in body if k not in mapped]
    if missing:
        raise RuntimeError(f"{path}: trunk keys missing: {missing[:5]}")
    model.load_state_dict(mapped, strict=False)
    log(f"init: {len(mapped)} trunk tensors from {path}", lf)


def set_dropout(model, p):
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = p
        elif isinstance(m, nn.MultiheadAttention):
            m.dropout = p


def save(model, path, it, sm, a, wall=None, extra=None):
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    d = dict(state_dict=sd, config=dict(CFG), size=SIZE, iterations=it, smoothed_loss=sm,
             wall_seconds=wall, args=vars(a) if a is not None else None)
    if extra:
        d.update(extra)
    torch.save(d, path + ".tmp")
    os.replace(path + ".tmp", path)


def train(a):
    torch.set_num_threads(a.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    lf = open(os.path.join(a.out_dir, "train.log"), "a")
    log("args: " + json.dumps(vars(a)), lf)
    log(f"torch {torch.__version__}, BLAS library: {blas_library()}", lf)
    seeds = parse_seeds(a.train_seeds)
    if any(s >= 9000 for s in seeds):
        raise SystemExit("seeds >= 9000 are held out")
    cfg = Config(size_range=tuple(a.size_range))
    t0 = time.time()
    data = []
    for s in seeds:
        data += U.cached_set(a.cache_dir, s, a.per_seed, cfg, a.jobs)
    val = U.cached_set(a.cache_dir, a.eval_seed, a.eval_count, cfg, a.jobs)
    n_obj = sum(len(d[3]) for d in data)
    log(f"data: {len(data)} train images ({n_obj} objects), {len(val)} eval images "
        f"(seed {a.eval_seed}), {time.time() - t0:.0f}s", lf)

    model, _ = D.build(SIZE)
    if a.init and a.init != "none":
        init_from_centernet(model, a.init, lf)
    set_dropout(model, a.dropout)
    extra = None
    if a.groups > 1:
        # Group DETR: groups-1 extra query groups for training only (not saved)
        extra = nn.Parameter(torch.randn((a.groups - 1) * CFG["queries"], CFG["d_model"]))
    D.FrozenBatchNorm2d.forward = frozen_bn_fast_forward
    # official DETR: conv1/bn1 and layer1 of the backbone are not trained
    frozen = ("backbone.0.body.conv1", "backbone.0.body.bn1", "backbone.0.body.layer1") \
        if a.freeze_stem else ()
    groups = {"backbone": [], "backbone_nd": [], "main": [], "main_nd": []}
    for n, p in model.named_parameters():
        if n.startswith(frozen):
            p.requires_grad_(False)
            continue
        key = "backbone" if n.startswith("backbone") else "main"
        groups[key + ("_nd" if p.ndim <= 1 else "")].append(p)
    if extra is not None:
        groups["main"].append(extra)
    n_par = sum(p.numel() for p in model.parameters())
    n_tr = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"model: {n_par} parameters ({n_tr} trained), config {json.dumps(CFG)}", lf)
    base_lr = {"backbone": a.lr_backbone, "backbone_nd": a.lr_backbone,
               "main": a.lr, "main_nd": a.lr}
    opt = torch.optim.AdamW(
        [dict(params=ps, lr=base_lr[k], weight_decay=0.0 if k.endswith("_nd") else a.wd, name=k)
         for k, ps in groups.items() if ps], betas=(0.9, 0.999))
    empty_weight = torch.ones(NUM_CLASSES + 1)
    empty_weight[-1] = a.eos_coef
    budget = a.minutes * 60.0

    def progress(it, elapsed):
        return it / a.iters if a.iters else elapsed / budget

    def lr_factor(it, p):
        warm = min(1.0, (it + 1) / a.warmup)
        return warm * (a.min_lr_frac + (1 - a.min_lr_frac)
                       * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))

    loader = iter(torch.utils.data.DataLoader(
        BatchStream(data, a), batch_size=None, num_workers=a.workers,
        prefetch_factor=4 if a.workers else 2, persistent_workers=a.workers > 0))
    model.train()
    book = C.LoopBook(a, decay=0.98)
    t_start = book.t_start
    it, sm = 0, None
    while True:
        elapsed = time.time() - t_start
        p = progress(it, elapsed)
        if p >= 1.0:
            break
        f = lr_factor(it, p)
        for g in opt.param_groups:
            g["lr"] = base_lr[g["name"]] * f
        x, targets = next(loader)
        all_logits, all_boxes = forward_all(model, x, extra, a.groups)
        loss, parts = detr_loss(all_logits, all_boxes, targets, a, empty_weight, CFG["queries"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(
            [q for g in opt.param_groups for q in g["params"]], a.clip))
        opt.step()
        it += 1
        sm = book.update(dict(loss=float(loss), gnorm=gnorm, **parts))
        do_log, do_ck, do_eval = book.due(it)
        if do_log:
            ips, el = book.speed(it)
            log(f"it {it} p {p:.3f} lr {a.lr * f:.2e} loss {sm['loss']:.3f} (last layer: ce "
                f"{sm['ce']:.3f} l1 {sm['l1']:.4f} giou {sm['giou']:.3f}) gnorm {sm['gnorm']:.2f}"
                f" | {ips:.1f} img/s {el:.0f}s", lf)
        if do_ck:
            save(model, os.path.join(a.out_dir, "last.pth"), it, sm, a)
        if do_eval:
            r, _, _ = eval_set(model, val[:100])
            model.train()
            log(f"eval@{it} (100 imgs): AP50 {r['ap50']:.4f} AP {r['ap']:.4f} recall "
                f"{r['recall']:.4f} precision {r['precision']:.4f}", lf)
            book.evaluated()
    wall = time.time() - t_start
    log(f"done: {it} iterations, {it * a.batch} images, {wall / 60:.1f} min; final smoothed "
        f"loss {sm['loss']:.4f} (last layer ce {sm['ce']:.4f} l1 {sm['l1']:.4f} "
        f"giou {sm['giou']:.4f})", lf)
    final = os.path.join(a.out_dir, "final.pth")
    save(model, final, it, sm, a, wall=wall)
    r, _, _ = eval_set(model, val)
    log(f"eval seed {a.eval_seed} ({len(val)} imgs): AP50 {r['ap50']:.4f} AP {r['ap']:.4f} "
        f"AP75 {r['ap75']:.4f} recall@0.3 {r['recall']:.4f} precision@0.3 {r['precision']:.4f}",
        lf)
    log("per class AP50: " + json.dumps({k: round(v, 4) for k, v in r["ap50_per_class"].items()}),
        lf)
    with open(os.path.join(a.out_dir, "result.json"), "w") as fjs:
        json.dump(dict(iterations=it, images=it * a.batch, wall_minutes=wall / 60,
                       final_loss=sm, eval=r, args=vars(a)), fjs, indent=1)
    return 0


def blas_library():
    """Which libblas the process loaded (netlib's reference BLAS is ~10x
    slower than OpenBLAS for the transformer's matrix products)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        return ",".join(sorted(libs)) or "?"
    except OSError:
        return "?"


# ---------------------------------------------------------- eval / export

def cmd_eval(a):
    torch.set_num_threads(a.threads)
    model = load_model(a.checkpoint)
    cfg = Config(size_range=tuple(a.size_range))
    if a.cache_dir and a.count == 300 and a.start == 0:
        data = U.cached_set(a.cache_dir, a.seed, a.count, cfg, a.jobs)
    else:
        data = U.render_set(a.seed, a.count, cfg, a.jobs, start=a.start)
    r, _, _ = eval_set(model, data, score_thr=a.score_threshold)
    print(json.dumps(r, indent=1))
    return 0


def _ort_run(onnx_path, inp_pb, out_dir):
    script = os.path.join(REPO, "tools", "reference", "ort_run.js")
    if not os.path.exists(os.path.join(REPO, "tools", "reference", "node_modules",
                                       "onnxruntime-node")):
        return None
    subprocess.run(["node", script, "--threads", "1", onnx_path, out_dir, inp_pb], check=True,
                   stdout=subprocess.DEVNULL)
    return out_dir


def cmd_export(a):
    """Export through models/export/export.py (make_model + export, i.e. what
    ``export.py --arch detr --size shapes --checkpoint`` does) plus the
    training metadata; check the file against PyTorch eager on a real image
    with ONNX Runtime (tools/reference) and odet's onnx-run when available."""
    import onnx
    from onnx import numpy_helper
    import export as E
    torch.set_num_threads(a.threads)
    model, spec = E.make_model("detr", SIZE, checkpoint=a.checkpoint)
    ref = load_model(a.checkpoint)
    for k, v in ref.state_dict().items():
        assert torch.equal(v, model.state_dict()[k]), f"checkpoint not fully loaded: {k}"
    spec["metadata"]["odet.train_ap50"] = f"{a.ap50:.4f}"
    spec["metadata"]["odet.eval_seed"] = str(a.eval_seed)
    proto = E.export(model, spec, a.out)
    onnx.checker.check_model(proto, full_check=True)
    print(f"{a.out}: opset {E.common.opset_version(proto)}, {len(proto.graph.node)} nodes, "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB; ops: {' '.join(E.common.op_types(proto))}")
    img = cv2.imread(a.check_image, cv2.IMREAD_COLOR)
    x = torch.from_numpy(preprocess(img)[0])[None]
    eager = E.run_eager(model, [x])
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "input_0.pb")
        E.save_pb(x.numpy(), "images", inp)
        runners = {"onnxruntime": lambda d: _ort_run(a.out, inp, d)}
        onnx_run = os.path.join(REPO, "build", "tools", "onnx-run")
        if os.path.exists(onnx_run):
            def odet(d):
                subprocess.run([onnx_run, "--threads", "1", a.out, d, inp], check=True,
                               stdout=subprocess.DEVNULL)
                return d
            runners["odet onnx-run"] = odet
        ok = True
        for name, run in runners.items():
            d = os.path.join(tmp, name.replace(" ", "_"))
            os.makedirs(d)
            if run(d) is None:
                print(f"{name}: not available, skipped")
                continue
            for k, oname in enumerate(spec["output_names"]):
                t = onnx.TensorProto()
                with open(os.path.join(d, f"output_{k}.pb"), "rb") as fh:
                    t.ParseFromString(fh.read())
                got = numpy_helper.to_array(t)
                err = float(np.abs(got - eager[k]).max())
                print(f"{name} vs PyTorch eager, {oname} {list(got.shape)}: max abs diff {err:.2e}")
                ok &= err < 1e-4
    if not ok:
        raise SystemExit("ONNX outputs differ from PyTorch by >= 1e-4")
    if a.pth_out:
        ck = torch.load(a.checkpoint, map_location="cpu")
        os.makedirs(os.path.dirname(os.path.abspath(a.pth_out)), exist_ok=True)
        torch.save(dict(state_dict=model.state_dict(), config=dict(CFG), size=SIZE,
                        variant=CFG["variant"], class_names=list(CLASSES),
                        iterations=ck.get("iterations"), eval_ap50=a.ap50,
                        eval_seed=a.eval_seed, init="models/default/centernet_shapes.pth trunk"),
                   a.pth_out)
        print(f"{a.pth_out}: {os.path.getsize(a.pth_out) / 1e6:.2f} MB")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    C.add_data_args(t)
    t.add_argument("--init", default=DEFAULT_INIT,
                   help="CenterNet checkpoint whose trunk initialises the backbone ('none': random)")
    t.add_argument("--freeze-stem", type=int, default=1, help="do not train conv1/bn1/layer1")
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=4e-4, help="transformer and heads")
    t.add_argument("--lr-backbone", type=float, default=1e-4)
    t.add_argument("--min-lr-frac", type=float, default=0.01)
    t.add_argument("--wd", type=float, default=1e-4)
    t.add_argument("--clip", type=float, default=0.1, help="gradient max norm")
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--minutes", type=float, default=55.0,
                   help="wall-clock budget: cosine LR over elapsed/budget")
    t.add_argument("--iters", type=int, default=0, help="fixed iteration count instead")
    t.add_argument("--dropout", type=float, default=0.0, help="transformer dropout in training")
    t.add_argument("--eos-coef", type=float, default=0.1)
    t.add_argument("--groups", type=int, default=1,
                   help="Group DETR query groups in training (1: plain DETR)")
    t.add_argument("--cost-class", type=float, default=1.0)
    t.add_argument("--cost-bbox", type=float, default=5.0)
    t.add_argument("--cost-giou", type=float, default=2.0)
    t.add_argument("--w-ce", type=float, default=1.0)
    t.add_argument("--w-bbox", type=float, default=5.0)
    t.add_argument("--w-giou", type=float, default=2.0)
    t.add_argument("--p-exact", type=float, default=0.3,
                   help="probability of the exact test-time letterbox")
    t.add_argument("--scale-min", type=float, default=0.6)
    t.add_argument("--scale-max", type=float, default=1.4)
    t.add_argument("--flip", type=float, default=0.5)
    t.add_argument("--jitter", type=float, default=0.2)
    C.add_run_args(t, eval_every=10.0, jobs=1)
    e = sub.add_parser("eval")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--seed", type=int, default=9001)
    e.add_argument("--start", type=int, default=0)
    e.add_argument("--count", type=int, default=300)
    e.add_argument("--size-range", type=int, nargs=2, default=(192, 512))
    e.add_argument("--score-threshold", type=float, default=0.3)
    e.add_argument("--cache-dir", default="/tmp/odet_cn/cache",
                   help="reuse the rendered seed-9001 set if cached ('' : render)")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--jobs", type=int, default=1)
    x = sub.add_parser("export")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", required=True)
    x.add_argument("--ap50", type=float, required=True, help="held-out AP50 to record")
    x.add_argument("--eval-seed", type=int, default=9001)
    x.add_argument("--pth-out", help="also write the checkpoint (state dict + config) here")
    x.add_argument("--check-image", default=os.path.join(REPO, "examples", "shapes_640x480.jpg"))
    x.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    return {"train": train, "eval": cmd_eval, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
