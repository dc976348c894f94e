"""VarifocalNet (VFNet): ResNet-50 + FPN (P3-P7) + VFNet head.

Module and parameter names follow mmdetection (``backbone``, ``neck`` =
``FPN(start_level=1, add_extra_convs='on_output', num_outs=5,
relu_before_extra_convs=True)`` with ``lateral_convs.N.conv`` /
``fpn_convs.N.conv``, ``bbox_head`` = ``VFNetHead``: ``cls_convs`` /
``reg_convs`` (ConvModule conv3x3 + GN + ReLU, no conv bias),
``vfnet_reg_conv``, ``vfnet_reg``, ``scales``, ``vfnet_reg_refine_dconv``,
``vfnet_reg_refine``, ``scales_refine``, ``vfnet_cls_dconv``, ``vfnet_cls``),
so an mmdet VFNet-R50 checkpoint (``state_dict`` key) loads as is.

The star-shaped deformable convs are DCNv1 (no mask, no bias), exported as
ONNX ``DeformConv`` with inputs (X, W, offset).

Outputs, for levels l = 0..4 (strides 8, 16, 32, 64, 128):
``cls_score_l`` [1,C,H_l,W_l] raw IoU-aware logits (apply sigmoid in the
decoder, as mmdet does); ``bbox_pred_l`` [1,4,H_l,W_l] refined distances
(left, top, right, bottom) in input pixels from the point
(x * stride, y * stride) (mmdet's MlvlPointGenerator with offset 0 for
VFNet with ATSS).

``CONFIGS["shapes"]`` is a compact variant trained on the synthetic shapes
(models/train/train_vfnet.py): BasicBlock trunk, four levels P3-P6 (strides
8, 16, 32, 64), two stacked convs, letterbox/BGR metadata.
"""

from typing import List, Sequence

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

import coco
import common
from common import csv
from resnet import ResNet


class ConvModule(nn.Module):
    """mmcv ConvModule subset: conv [+ gn] [+ relu]; conv bias only without
    norm (``bias='auto'``)."""

    def __init__(self, in_ch: int, out_ch: int, k: int, stride: int = 1,
                 padding: int = 0, gn_groups: int = 0, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, k, stride=stride, padding=padding,
                              bias=gn_groups == 0)
        self.with_norm = gn_groups > 0
        if self.with_norm:
            self.gn = nn.GroupNorm(gn_groups, out_ch)
        self.activate = nn.ReLU(inplace=True) if act else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if self.with_norm:
            x = self.gn(x)
        if self.activate is not None:
            x = self.activate(x)
        return x


class FPN(nn.Module):
    def __init__(self, in_channels: Sequence[int], out_channels: int, start_level: int = 1,
                 num_outs: int = 5):
        super().__init__()
        self.start_level = start_level
        self.num_outs = num_outs
        self.lateral_convs = nn.ModuleList(
            ConvModule(c, out_channels, 1, act=False) for c in in_channels[start_level:])
        n = len(in_channels) - start_level
        # P3..P5 output convs, then the extra P6 (on P5 output) and P7 convs.
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, act=False) for _ in range(n))
        for _ in range(num_outs - n):
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, stride=2,
                                             padding=1, act=False))

    def forward(self, inputs: List[Tensor]) -> List[Tensor]:
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            prev_shape = laterals[i - 1].shape[2:]
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=prev_shape,
                                                              mode="nearest")
        n = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(n)]
        outs.append(self.fpn_convs[n](outs[-1]))             # add_extra_convs='on_output'
        for i in range(n + 1, self.num_outs):
            outs.append(self.fpn_convs[i](F.relu(outs[-1])))  # relu_before_extra_convs
        return outs


class Scale(nn.Module):
    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class DeformConv2d(nn.Module):
    """mmcv.ops.DeformConv2d (DCNv1, no bias) running as torchvision's
    deform_conv2d; same (dy, dx) per kernel point offset layout."""

    def __init__(self, in_ch: int, out_ch: int, k: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, k, k))
        stdv = 1.0 / (in_ch * k * k) ** 0.5
        nn.init.uniform_(self.weight, -stdv, stdv)

    def forward(self, x: Tensor, offset: Tensor) -> Tensor:
        return torchvision.ops.deform_conv2d(x, offset, self.weight, None,
                                             stride=self.stride, padding=self.padding)


class VFNetHead(nn.Module):
    def __init__(self, num_classes: int, in_channels: int, feat_channels: int,
                 stacked_convs: int = 3, gn_groups: int = 32,
                 strides=(8, 16, 32, 64, 128),
                 regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, 1e8))):
        super().__init__()
        self.num_classes = num_classes
        self.strides = strides
        self.reg_denoms = [r[-1] for r in regress_ranges]
        self.reg_denoms[-1] = self.reg_denoms[-2] * 2
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i in range(stacked_convs):
            chn = in_channels if i == 0 else feat_channels
            self.cls_convs.append(ConvModule(chn, feat_channels, 3, padding=1, gn_groups=gn_groups))
            self.reg_convs.append(ConvModule(chn, feat_channels, 3, padding=1, gn_groups=gn_groups))
        self.relu = nn.ReLU()
        self.vfnet_reg_conv = ConvModule(feat_channels, feat_channels, 3, padding=1,
                                         gn_groups=gn_groups)
        self.vfnet_reg = nn.Conv2d(feat_channels, 4, 3, padding=1)
        self.scales = nn.ModuleList(Scale(1.0) for _ in strides)
        self.vfnet_reg_refine_dconv = DeformConv2d(feat_channels, feat_channels, 3, 1, padding=1)
        self.vfnet_reg_refine = nn.Conv2d(feat_channels, 4, 3, padding=1)
        self.scales_refine = nn.ModuleList(Scale(1.0) for _ in strides)
        self.vfnet_cls_dconv = DeformConv2d(feat_channels, feat_channels, 3, 1, padding=1)
        self.vfnet_cls = nn.Conv2d(feat_channels, num_classes, 3, padding=1)
        # Base (dy, dx) of the 3x3 kernel points, row-major.
        base = torch.arange(-1, 2, dtype=torch.float64)
        base_y = base.repeat_interleave(3)
        base_x = base.repeat(3)
        self.register_buffer("dcn_base_offset",
                             torch.stack([base_y, base_x], dim=1).reshape(1, -1, 1, 1).float(),
                             persistent=False)

    def star_dcn_offset(self, bbox_pred: Tensor, stride: int) -> Tensor:
        """Offsets putting the 9 sampling points on the box corners, edge
        midpoints and the centre (mmdet ``star_dcn_offset``).  At inference
        ``(1 - g) * b + g * b`` is ``b``, so the gradient-multiplier blend
        is omitted; channels are assembled with a concat instead of
        twelve in-place slice writes.  Channel 2k is dy, 2k+1 is dx of
        kernel point k."""
        b = bbox_pred / stride
        l, t, r, btm = b[:, 0:1], b[:, 1:2], b[:, 2:3], b[:, 3:4]
        zero = torch.zeros_like(l)
        chans = [-t, -l, -t, zero, -t, r,
                 zero, -l, zero, zero, zero, r,
                 btm, -l, btm, zero, btm, r]
        return torch.cat(chans, dim=1) - self.dcn_base_offset

    def forward_single(self, x: Tensor, level: int):
        scale, scale_refine = self.scales[level], self.scales_refine[level]
        stride, reg_denom = self.strides[level], self.reg_denoms[level]
        cls_feat = x
        reg_feat = x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        reg_feat_init = self.vfnet_reg_conv(reg_feat)
        bbox_pred = scale(self.vfnet_reg(reg_feat_init)).float().exp() * reg_denom
        dcn_offset = self.star_dcn_offset(bbox_pred, stride).to(reg_feat.dtype)
        reg_feat = self.relu(self.vfnet_reg_refine_dconv(reg_feat, dcn_offset))
        bbox_pred_refine = scale_refine(self.vfnet_reg_refine(reg_feat)).float().exp()
        bbox_pred_refine = bbox_pred_refine * bbox_pred.detach()
        cls_feat = self.relu(self.vfnet_cls_dconv(cls_feat, dcn_offset))
        cls_score = self.vfnet_cls(cls_feat)
        return cls_score, bbox_pred_refine

    def forward(self, feats: List[Tensor]):
        outs = [self.forward_single(f, i) for i, f in enumerate(feats)]
        return [o[0] for o in outs], [o[1] for o in outs]


class VFNet(nn.Module):
    """Defaults: mmdet's VFNet-R50 layout (Bottleneck trunk, P3-P7, three
    stacked convs).  ``block``, ``strides`` (one per output level, so
    ``num_outs = len(strides)``), ``regress_ranges`` (their upper bounds are
    the ``reg_denom`` scales) and ``stacked_convs`` allow compact variants."""

    def __init__(self, layers, widths, stem_width, fpn_channels, feat_channels,
                 gn_groups, num_classes, block: str = "bottleneck",
                 strides=(8, 16, 32, 64, 128),
                 regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, 1e8)),
                 stacked_convs: int = 3):
        super().__init__()
        self.backbone = ResNet(block, layers, widths, stem_width)
        self.neck = FPN(self.backbone.out_channels, fpn_channels, start_level=1,
                        num_outs=len(strides))
        self.bbox_head = VFNetHead(num_classes, fpn_channels, feat_channels,
                                   stacked_convs=stacked_convs, gn_groups=gn_groups,
                                   strides=tuple(strides), regress_ranges=regress_ranges)

    def forward(self, x: Tensor):
        cls_scores, bbox_preds = self.bbox_head(self.neck(self.backbone(x)))
        return tuple(cls_scores) + tuple(bbox_preds)

    @torch.no_grad()
    def randomize_extra(self, gen: torch.Generator, x: Tensor) -> None:
        """Random Scale values and trained-like output ranges: initial boxes
        reaching 1-4 feature cells (exp(z) * reg_denom / stride = 8 exp(z),
        z ~ N(-1.4, 0.35)), so the star offsets sample inside the map at
        fractional positions with some points off the border; refinement
        factors near 1; IoU-aware logits around -2 (spread 1)."""
        head = self.bbox_head
        for s in list(head.scales) + list(head.scales_refine):
            s.scale.fill_(float(0.8 + 0.4 * torch.rand((), generator=gen)))
        common.shape_outputs(self, [x], [dict(module=head.vfnet_reg, std=0.35, mean=-1.4)], gen)
        common.shape_outputs(self, [x], [dict(module=head.vfnet_reg_refine, std=0.2, mean=0.0),
                                         dict(module=head.vfnet_cls, std=1.0, mean=-2.0)], gen)


CONFIGS = {
    "full": dict(layers=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64,
                 fpn_channels=256, feat_channels=256, gn_groups=32, num_classes=80,
                 input_hw=(800, 1216)),
    "small": dict(layers=(1, 1, 1, 1), widths=(4, 8, 12, 16), stem_width=8,
                  fpn_channels=16, feat_channels=16, gn_groups=4, num_classes=4,
                  input_hw=(128, 160)),
    # Trained on the synthetic shapes (models/train/train_vfnet.py): the
    # ResNet-18-layout trunk of models/default/centernet_shapes.pth (stem 16,
    # widths 16/32/64/128), FPN P3-P6 with 64 channels, a 64-channel head
    # with two stacked convs per branch, 256x256 YOLO letterbox input in
    # BGR order with CenterNet's statistics (those the trunk was trained on).
    "shapes": dict(block="basic", layers=(2, 2, 2, 2), widths=(16, 32, 64, 128),
                   stem_width=16, fpn_channels=64, feat_channels=64, gn_groups=8,
                   num_classes=8, input_hw=(256, 256), stacked_convs=2,
                   strides=(8, 16, 32, 64),
                   regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 1e8)),
                   variant="vfnet_r18w16_fpn64_shapes",
                   class_names="synth",
                   mean=(0.40789654, 0.44719302, 0.47026115),
                   std=(0.28863828, 0.27408164, 0.27809835),
                   channel_order="BGR",
                   # score_threshold is the CLI default: IoU-aware scores are
                   # low for loose boxes and other-class duplicates; 0.5 gives
                   # recall 0.90 / precision 0.79 on validation seed 100
                   # (0.3: 0.95 / 0.46, about two detections per object).
                   metadata={
                       "odet.preprocess": "letterbox",
                       "odet.score_threshold": "0.5",
                       "odet.nms_iou_threshold": "0.6",
                       "odet.pre_nms_top_k": "1000",
                       "odet.max_detections": "100",
                   }),
}

# mmdet img_norm_cfg (123.675, 116.28, 103.53)/(58.395, 57.12, 57.375), to_rgb
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)


def _synth_classes():
    """Class names of the synthetic dataset (models/train/synth, the single
    source of truth)."""
    import os
    import sys
    train_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "train")
    if train_dir not in sys.path:
        sys.path.insert(0, train_dir)
    from synth.shapes import CLASSES
    return tuple(CLASSES)


def build(size: str):
    cfg = CONFIGS[size]
    nc = cfg["num_classes"]
    extra = {k: cfg[k] for k in ("block", "strides", "regress_ranges", "stacked_convs")
             if k in cfg}
    model = VFNet(cfg["layers"], cfg["widths"], cfg["stem_width"], cfg["fpn_channels"],
                  cfg["feat_channels"], cfg["gn_groups"], nc, **extra)
    h, w = cfg["input_hw"]
    if cfg.get("class_names") == "synth":
        names = _synth_classes()
    elif cfg.get("class_names"):
        names = cfg["class_names"]
    else:
        names = coco.COCO80 if nc == 80 else coco.generic(nc)
    assert len(names) == nc
    strides = model.bbox_head.strides
    spec = dict(
        input_shapes=[(1, 3, h, w)], input_names=["input"],
        output_names=[f"cls_score_{i}" for i in range(len(strides))]
        + [f"bbox_pred_{i}" for i in range(len(strides))],
        metadata={
            "odet.arch": "vfnet",
            "odet.variant": cfg.get("variant", f"vfnet_r50_fpn_{size}"),
            "odet.input_size": f"{h}x{w}",
            "odet.mean": csv(cfg.get("mean", MEAN_RGB)),
            "odet.std": csv(cfg.get("std", STD_RGB)),
            "odet.channel_order": cfg.get("channel_order", "RGB"),
            "odet.num_classes": str(nc),
            "odet.class_names": csv(names),
            "odet.strides": csv(strides),
            "odet.score_activation": "sigmoid",
            "odet.box_format": "ltrb_distance_pixels",
            "odet.point_offset": "0",
            **cfg.get("metadata", {}),
        })
    return model, spec
