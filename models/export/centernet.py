"""CenterNet (Objects as Points) with a ResNet backbone and deconv upsampling.

Module and parameter names follow xingyizhou/CenterNet
``src/lib/models/networks/msra_resnet.py`` (plain) and ``resnet_dcn.py``
(DCN): ``conv1``, ``bn1``, ``layer1..4``, ``deconv_layers.N``, heads ``hm``,
``wh``, ``reg`` (each ``Sequential(conv3x3, ReLU, conv1x1)``), and for the DCN
variant ``deconv_layers.N.{weight,bias,conv_offset_mask}`` of DCNv2.

Plain variant: ``deconv_layers`` = 3 x [ConvTranspose 4x4/2, BN, ReLU] with
256/128/64 filters.  (Official ``msra_resnet.py`` uses 256/256/256; the
filters are a parameter.)  DCN variant (``resnet_dcn.py``): 3 x [DCNv2 3x3,
BN, ReLU, ConvTranspose 4x4/2, BN, ReLU] with 256/128/64 filters.

Outputs at stride 4: ``hm`` [1,C,H/4,W/4] *after* sigmoid (the official code
applies the sigmoid in its decoder; here it is in the graph), ``wh`` and
``reg`` [1,2,H/4,W/4] raw.  Peak extraction (3x3 max-pool NMS, top-k) is left
to the decoder.
"""

from typing import Dict, List, Sequence

import torch
import torchvision
from torch import nn

import coco
import common
from common import csv
from resnet import ResNet


class DCN(nn.Module):
    """DCNv2 modulated deformable conv with the parameter layout of the
    DCNv2 package CenterNet uses (``weight``, ``bias``, ``conv_offset_mask``).
    Runs as torchvision's ``deform_conv2d`` (same sampling and offset layout:
    per kernel point (dy, dx), kernel points in row-major order)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3,
                 stride=1, padding=1, dilation=1, deformable_groups=1):
        super().__init__()
        k = kernel_size
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, k, k))
        self.bias = nn.Parameter(torch.empty(out_channels))
        stdv = 1.0 / (in_channels * k * k) ** 0.5
        nn.init.uniform_(self.weight, -stdv, stdv)
        nn.init.zeros_(self.bias)
        self.conv_offset_mask = nn.Conv2d(in_channels, deformable_groups * 3 * k * k,
                                          kernel_size=k, stride=stride,
                                          padding=padding, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_offset_mask(x)
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = torch.cat((o1, o2), dim=1)
        mask = torch.sigmoid(mask)
        return torchvision.ops.deform_conv2d(
            x, offset, self.weight, self.bias, stride=self.stride,
            padding=self.padding, dilation=self.dilation, mask=mask)


class PoseResNet(ResNet):
    def __init__(self, block: str, layers: Sequence[int], widths: Sequence[int],
                 stem_width: int, heads: Dict[str, int], head_conv: int,
                 deconv_filters: Sequence[int], dcn: bool):
        super().__init__(block, layers, widths, stem_width)
        self.heads = heads
        self.dcn = dcn
        self.deconv_layers = self._make_deconv_layer(deconv_filters, dcn)
        ch = deconv_filters[-1]
        for head, classes in heads.items():
            fc = nn.Sequential(
                nn.Conv2d(ch, head_conv, kernel_size=3, padding=1, bias=True),
                nn.ReLU(inplace=True),
                nn.Conv2d(head_conv, classes, kernel_size=1, stride=1, padding=0, bias=True))
            self.__setattr__(head, fc)

    def _make_deconv_layer(self, filters: Sequence[int], dcn: bool) -> nn.Sequential:
        layers: List[nn.Module] = []
        inplanes = self.out_channels[-1]
        for planes in filters:
            if dcn:
                layers += [DCN(inplanes, planes, kernel_size=3, stride=1, padding=1),
                           nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
                inplanes = planes
            # kernel 4, padding 1, output_padding 0 (CenterNet _get_deconv_cfg)
            layers += [nn.ConvTranspose2d(inplanes, planes, kernel_size=4, stride=2,
                                          padding=1, output_padding=0, bias=False),
                       nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
            inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.deconv_layers(x)
        return (torch.sigmoid(self.hm(x)), self.wh(x), self.reg(x))

    @torch.no_grad()
    def randomize_extra(self, gen: torch.Generator, x: torch.Tensor) -> None:
        """Trained-like output ranges: DCNv2 offsets (zero-initialised
        officially) with a spread of about 0.5 px so sampling is off-grid; ``hm``
        logits around the official -2.19 bias init; ``wh`` positive sizes of a few cells;
        ``reg`` in about [0, 1]."""
        for m in self.modules():
            if isinstance(m, DCN):
                common.shape_outputs(self, [x], [dict(module=m.conv_offset_mask, std=0.5,
                                                      mean=0.0)], gen)
        common.shape_outputs(self, [x], [dict(module=self.hm[-1], std=1.5, mean=-2.19),
                                         dict(module=self.wh[-1], std=1.0, mean=6.0),
                                         dict(module=self.reg[-1], std=0.2, mean=0.5)], gen)


CONFIGS = {
    "full": dict(block="basic", layers=(2, 2, 2, 2), widths=(64, 128, 256, 512),
                 stem_width=64, head_conv=64, deconv_filters=(256, 128, 64),
                 num_classes=80, input_hw=(512, 512)),
    "small": dict(block="basic", layers=(2, 1, 1, 1), widths=(8, 16, 24, 32),
                  stem_width=8, head_conv=16, deconv_filters=(32, 16, 16),
                  num_classes=3, input_hw=(96, 128)),
}

# CenterNet's COCO statistics; the official pipeline feeds cv2 (BGR) images.
MEAN_BGR = (0.40789654, 0.44719302, 0.47026115)
STD_BGR = (0.28863828, 0.27408164, 0.27809835)


def build(size: str, dcn: bool):
    cfg = CONFIGS[size]
    nc = cfg["num_classes"]
    model = PoseResNet(cfg["block"], cfg["layers"], cfg["widths"], cfg["stem_width"],
                       {"hm": nc, "wh": 2, "reg": 2}, cfg["head_conv"],
                       cfg["deconv_filters"], dcn)
    h, w = cfg["input_hw"]
    names = coco.COCO80 if nc == 80 else coco.generic(nc)
    spec = dict(
        input_shapes=[(1, 3, h, w)], input_names=["input"],
        output_names=["hm", "wh", "reg"],
        metadata={
            "odet.arch": "centernet",
            "odet.variant": ("resnet_dcn" if dcn else "msra_resnet") + f"_{size}",
            "odet.input_size": f"{h}x{w}",
            "odet.mean": csv(MEAN_BGR), "odet.std": csv(STD_BGR),
            "odet.channel_order": "BGR",
            "odet.num_classes": str(nc),
            "odet.class_names": csv(names),
            "odet.output_stride": "4",
            "odet.hm_activation": "sigmoid_applied",
        })
    return model, spec
