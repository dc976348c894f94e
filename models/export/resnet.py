"""ResNet backbones with torchvision's module and parameter names.

The blocks are torchvision's own ``BasicBlock``/``Bottleneck`` (ResNet v1.5:
stride on the 3x3 conv), which is also the layout of mmdet's ResNet with
``style='pytorch'`` and of DETR's backbone.  Unlike torchvision's ``ResNet``
the stage widths are configurable so small test variants keep the exact graph
structure with few channels.  There is no ``avgpool``/``fc``: detectors only
use the stage outputs.
"""

from typing import Callable, List, Optional, Sequence

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """ResNet trunk returning the outputs of layer1..layer4 (C2..C5)."""

    def __init__(self, block: str, layers: Sequence[int],
                 widths: Sequence[int] = (64, 128, 256, 512),
                 stem_width: int = 64,
                 norm_layer: Optional[Callable[[int], nn.Module]] = None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self._block = BLOCKS[block]
        self.inplanes = stem_width
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, stem_width, kernel_size=7, stride=2,
                               padding=3, bias=False)
        self.bn1 = norm_layer(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(widths[0], layers[0], stride=1)
        self.layer2 = self._make_layer(widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(widths[3], layers[3], stride=2)
        expansion = self._block.expansion
        self.out_channels: List[int] = [w * expansion for w in widths]

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        block = self._block
        norm_layer = self._norm_layer
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion,
                          kernel_size=1, stride=stride, bias=False),
                norm_layer(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample,
                        norm_layer=norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


@torch.no_grad()
def damp_residual_branches(model: nn.Module, gen: torch.Generator,
                           lo: float = 0.1, hi: float = 0.3) -> None:
    """Scale of the last norm layer of every residual branch ~ U(lo, hi).

    With random weights and unit-scale branches, each block roughly adds a
    fresh random signal to the residual stream and float32 rounding
    differences grow by an order of magnitude per stage (measured against
    float64: 6e-4 relative after a ResNet-50, 4e-4 absolute on VFNet's
    logits).  Small final scales, as trained ResNets tend to have (cf.
    torchvision's ``zero_init_residual``), keep the stream dominated by the
    identity path and the error near 1e-5, so goldens can be compared at
    tight tolerances.
    """
    for m in model.modules():
        last = None
        if isinstance(m, Bottleneck):
            last = m.bn3
        elif isinstance(m, BasicBlock):
            last = m.bn2
        if last is not None:
            last.weight.copy_(lo + (hi - lo) * torch.rand(last.weight.shape, generator=gen))
