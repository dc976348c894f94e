"""DETR (End-to-End Object Detection with Transformers).

Mirrors facebookresearch/detr ``models/detr.py``, ``backbone.py``,
``transformer.py`` and ``position_encoding.py`` (post-norm transformer,
sine position encoding with ``normalize=True``, auxiliary decoder outputs
stacked as in training), with the same module and parameter names so an
official checkpoint (``model`` key) loads as is: ``backbone.0.body.*``
(ResNet with FrozenBatchNorm2d), ``input_proj``, ``query_embed``,
``transformer.{encoder,decoder}.*``, ``class_embed``, ``bbox_embed``.

The exported graph takes one image [1,3,H,W].  The padding mask of DETR's
NestedTensor is all false (a single unpadded image), but it is derived from
the input inside the graph so that the mask down-sampling, the sine
position encoding and the key-padding masks of the attention layers stay in
the graph instead of being folded into a constant by the exporter.

Outputs: ``pred_logits`` [1,Q,num_classes+1] (raw; softmax in the decoder,
last class = "no object") and ``pred_boxes`` [1,Q,4] (sigmoid, normalised
cx, cy, w, h).
"""

import copy
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models._utils import IntermediateLayerGetter

import coco
import common
from common import csv
from resnet import ResNet


class FrozenBatchNorm2d(nn.Module):
    """BatchNorm2d with fixed statistics and affine parameters (DETR's)."""

    def __init__(self, n: int):
        super().__init__()
        self.register_buffer("weight", torch.ones(n))
        self.register_buffer("bias", torch.zeros(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("running_var", torch.ones(n))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                              missing_keys, unexpected_keys, error_msgs):
        num_batches_tracked_key = prefix + "num_batches_tracked"
        if num_batches_tracked_key in state_dict:
            del state_dict[num_batches_tracked_key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        eps = 1e-5
        scale = w * (rv + eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias


class Backbone(nn.Module):
    def __init__(self, body: ResNet, return_layer: str = "layer4"):
        super().__init__()
        # DETR uses C5 (layer4).  A shallower stage (e.g. "layer3": C4, stride
        # 16) drops the later stages from the module (IntermediateLayerGetter).
        self.body = IntermediateLayerGetter(body, return_layers={return_layer: "0"})
        self.num_channels = body.out_channels[int(return_layer[-1]) - 1]

    def forward(self, x: Tensor, m: Tensor):
        out = []
        for _, feat in self.body(x).items():
            mask = F.interpolate(m[None].float(), size=feat.shape[-2:]).to(torch.bool)[0]
            out.append((feat, mask))
        return out


class PositionEmbeddingSine(nn.Module):
    def __init__(self, num_pos_feats=64, temperature=10000, normalize=False, scale=None):
        super().__init__()
        self.num_pos_feats = num_pos_feats
        self.temperature = temperature
        self.normalize = normalize
        if scale is not None and normalize is False:
            raise ValueError("normalize should be True if scale is passed")
        if scale is None:
            scale = 2 * math.pi
        self.scale = scale

    def forward(self, mask: Tensor) -> Tensor:
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=torch.float32)
        x_embed = not_mask.cumsum(2, dtype=torch.float32)
        if self.normalize:
            eps = 1e-6
            y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
            x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale

        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32)
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.num_pos_feats)

        pos_x = x_embed[:, :, :, None] / dim_t
        pos_y = y_embed[:, :, :, None] / dim_t
        pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
        pos = torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)
        return pos


class Joiner(nn.Sequential):
    def forward(self, x: Tensor, mask: Tensor):
        xs = self[0](x, mask)
        out, pos = [], []
        for feat, m in xs:
            out.append((feat, m))
            pos.append(self[1](m).to(feat.dtype))
        return out, pos


def _get_clones(module, n):
    return nn.ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoderLayer(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = F.relu

    def forward(self, src, src_key_padding_mask: Optional[Tensor] = None,
                pos: Optional[Tensor] = None):
        q = k = src if pos is None else src + pos
        src2 = self.self_attn(q, k, value=src, key_padding_mask=src_key_padding_mask)[0]
        src = self.norm1(src + self.dropout1(src2))
        src2 = self.linear2(self.dropout(self.activation(self.linear1(src))))
        return self.norm2(src + self.dropout2(src2))


class TransformerDecoderLayer(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = F.relu

    def forward(self, tgt, memory, memory_key_padding_mask: Optional[Tensor] = None,
                pos: Optional[Tensor] = None, query_pos: Optional[Tensor] = None):
        q = k = tgt + query_pos
        tgt2 = self.self_attn(q, k, value=tgt)[0]
        tgt = self.norm1(tgt + self.dropout1(tgt2))
        tgt2 = self.multihead_attn(query=tgt + query_pos, key=memory + pos, value=memory,
                                   key_padding_mask=memory_key_padding_mask)[0]
        tgt = self.norm2(tgt + self.dropout2(tgt2))
        tgt2 = self.linear2(self.dropout(self.activation(self.linear1(tgt))))
        return self.norm3(tgt + self.dropout3(tgt2))


class TransformerEncoder(nn.Module):
    def __init__(self, encoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, src_key_padding_mask=None, pos=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_key_padding_mask=src_key_padding_mask, pos=pos)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(nn.Module):
    def __init__(self, decoder_layer, num_layers, norm=None, return_intermediate=False):
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.return_intermediate = return_intermediate

    def forward(self, tgt, memory, memory_key_padding_mask=None, pos=None, query_pos=None):
        output = tgt
        intermediate = []
        for layer in self.layers:
            output = layer(output, memory, memory_key_padding_mask=memory_key_padding_mask,
                           pos=pos, query_pos=query_pos)
            if self.return_intermediate:
                intermediate.append(self.norm(output))
        if self.norm is not None:
            output = self.norm(output)
            if self.return_intermediate:
                intermediate.pop()
                intermediate.append(output)
        if self.return_intermediate:
            return torch.stack(intermediate)
        return output.unsqueeze(0)


class Transformer(nn.Module):
    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, return_intermediate_dec=False):
        super().__init__()
        encoder_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout)
        self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, None)
        decoder_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout)
        self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, nn.LayerNorm(d_model),
                                          return_intermediate=return_intermediate_dec)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead

    def _reset_parameters(self):
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src, mask, query_embed, pos_embed):
        bs, c, h, w = src.shape
        src = src.flatten(2).permute(2, 0, 1)
        pos_embed = pos_embed.flatten(2).permute(2, 0, 1)
        query_embed = query_embed.unsqueeze(1).repeat(1, bs, 1)
        mask = mask.flatten(1)
        tgt = torch.zeros_like(query_embed)
        memory = self.encoder(src, src_key_padding_mask=mask, pos=pos_embed)
        hs = self.decoder(tgt, memory, memory_key_padding_mask=mask, pos=pos_embed,
                          query_pos=query_embed)
        return hs.transpose(1, 2), memory.permute(1, 2, 0).view(bs, c, h, w)


class MLP(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, num_layers):
        super().__init__()
        self.num_layers = num_layers
        h = [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in zip([input_dim] + h, h + [output_dim]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if i < self.num_layers - 1 else layer(x)
        return x


class DETR(nn.Module):
    def __init__(self, backbone, transformer, num_classes, num_queries):
        super().__init__()
        self.num_queries = num_queries
        self.transformer = transformer
        hidden_dim = transformer.d_model
        self.class_embed = nn.Linear(hidden_dim, num_classes + 1)
        self.bbox_embed = MLP(hidden_dim, hidden_dim, 4, 3)
        self.query_embed = nn.Embedding(num_queries, hidden_dim)
        self.input_proj = nn.Conv2d(backbone[0].num_channels, hidden_dim, kernel_size=1)
        self.backbone = backbone

    def forward(self, images: Tensor):
        # All-false padding mask [1,H,W], computed from the pixels so that it
        # is not a graph constant: "x > +inf" is false for every value,
        # including inf and NaN.
        mask = images[:, 0] > float("inf")
        features, pos = self.backbone(images, mask)
        src, mask = features[-1]
        hs = self.transformer(self.input_proj(src), mask, self.query_embed.weight, pos[-1])[0]
        outputs_class = self.class_embed(hs)
        outputs_coord = self.bbox_embed(hs).sigmoid()
        return outputs_class[-1], outputs_coord[-1]

    @torch.no_grad()
    def randomize_extra(self, gen: torch.Generator, x: Tensor) -> None:
        """Sharper attention and wider output ranges for random weights.

        With xavier-initialised projections attention is nearly uniform and
        all queries end up with almost the same output: the first decoder
        layer gives every query the same ``tgt``, and near-uniform
        cross-attention adds nearly the same average of the memory.  Query
        and key projections x3 (attention logits x9) and the
        cross-attention output projection x2 make the queries differ about
        15x more (measured on the full-width model), as in trained models.
        The class and box layers are then scaled (weights only) to an
        overall spread of 2 and 1.
        Setting per-query spreads through the bias, as for the other heads,
        would cancel the large query-independent part of the decoder output
        and amplify float32 rounding ~10x.
        """
        for m in self.modules():
            if isinstance(m, nn.MultiheadAttention):
                m.in_proj_weight[:2 * m.embed_dim].mul_(3.0)
                m.in_proj_bias[:2 * m.embed_dim].mul_(3.0)
        for layer in self.transformer.decoder.layers:
            layer.multihead_attn.out_proj.weight.mul_(2.0)
        last = lambda hs: hs[-1]  # noqa: E731
        common.shape_outputs(self, [x], [
            dict(module=self.class_embed, std=2.0, select=last, per_channel=False),
            dict(module=self.bbox_embed.layers[-1], std=1.0, select=last, per_channel=False)],
            gen)


CONFIGS = {
    "full": dict(layers=(3, 4, 6, 3), widths=(64, 128, 256, 512), stem_width=64,
                 d_model=256, nhead=8, enc=6, dec=6, ffn=2048, queries=100,
                 num_classes=91, input_hw=(800, 800)),
    "small": dict(layers=(1, 1, 1, 1), widths=(4, 8, 12, 16), stem_width=8,
                  d_model=32, nhead=8, enc=2, dec=2, ffn=64, queries=10,
                  num_classes=5, input_hw=(96, 160)),
    # Trained on the synthetic shapes (models/train/train_detr.py, TRAINING.md).
    # Trunk: the compact ResNet-18 layout of the shapes CenterNet (basic
    # blocks, stem 16, widths 16/32/64/128; initialised from
    # models/default/centernet_shapes.pth), cut after layer3: the transformer
    # reads C4 (stride 16, 16x16 tokens at 256x256), which suits the small
    # objects better than C5's 8x8.  BGR input with CenterNet's mean/std
    # (what the trunk was trained with), YOLO letterbox with grey 114 bars.
    "shapes": dict(block="basic", layers=(2, 2, 2, 2), widths=(16, 32, 64, 128),
                   stem_width=16, return_layer="layer3",
                   d_model=128, nhead=4, enc=2, dec=3, ffn=256, queries=25,
                   num_classes=8, input_hw=(256, 256),
                   variant="detr_r18w16c4_shapes",
                   # = synth.CLASSES (models/train/synth/shapes.py)
                   class_names=("circle", "square", "triangle", "star", "cross", "ring",
                                "heart", "arrow"),
                   mean=(0.40789654, 0.44719302, 0.47026115),
                   std=(0.28863828, 0.27408164, 0.27809835),
                   channel_order="BGR",
                   metadata={"odet.preprocess": "letterbox",
                             "odet.score_threshold": "0.3",
                             "odet.max_detections": "100"}),
}

MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)


def build(size: str):
    cfg = CONFIGS[size]
    body = ResNet(cfg.get("block", "bottleneck"), cfg["layers"], cfg["widths"],
                  cfg["stem_width"], norm_layer=FrozenBatchNorm2d)
    d = cfg["d_model"]
    backbone = Joiner(Backbone(body, cfg.get("return_layer", "layer4")),
                      PositionEmbeddingSine(d // 2, normalize=True))
    transformer = Transformer(d_model=d, nhead=cfg["nhead"], num_encoder_layers=cfg["enc"],
                              num_decoder_layers=cfg["dec"], dim_feedforward=cfg["ffn"],
                              dropout=0.1, return_intermediate_dec=True)
    nc = cfg["num_classes"]
    model = DETR(backbone, transformer, nc, cfg["queries"])
    h, w = cfg["input_hw"]
    names = cfg.get("class_names") or (coco.COCO91 if nc == 91 else coco.generic(nc))
    spec = dict(
        input_shapes=[(1, 3, h, w)], input_names=["images"],
        output_names=["pred_logits", "pred_boxes"],
        metadata={
            "odet.arch": "detr",
            "odet.variant": cfg.get("variant", f"detr_r50_{size}"),
            "odet.input_size": f"{h}x{w}",
            "odet.mean": csv(cfg.get("mean", MEAN_RGB)),
            "odet.std": csv(cfg.get("std", STD_RGB)),
            "odet.channel_order": cfg.get("channel_order", "RGB"),
            "odet.num_classes": str(nc),
            "odet.class_names": csv(names),
            "odet.num_queries": str(cfg["queries"]),
            "odet.logits_activation": "softmax_last_is_no_object",
            "odet.box_format": "cxcywh_normalized",
            **cfg.get("metadata", {}),
        })
    return model, spec
