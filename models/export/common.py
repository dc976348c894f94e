"""Shared export machinery: deterministic random weights, the ONNX
DeformConv symbolic, the opset 17 -> 19 upgrade, metadata and checkpoints.

Opset handling
--------------
torch 1.13 exports at most opset 17, while ONNX ``DeformConv`` exists only
from opset 19.  Models are therefore exported at opset 17 with every
deformable convolution emitted as ``DeformConv`` in a private placeholder
domain (``TMP_DOMAIN``).  The ONNX 1.12 checker accepts that file (it does
not validate ops of unknown domains), so the ordinary opset-17 part of the
graph is fully checked.  :func:`upgrade_to_opset19` then moves the
placeholder nodes into the default domain, imports opset 19 and rewrites the
only nodes whose signature changed between opsets 17 and 19 for the ops
torch emits:

* ``Reduce{L1,L2,LogSum,LogSumExp,Max,Mean,Min,Prod,SumSquare}``: ``axes``
  attribute becomes the second input (opset 18);
* ``Split`` without a ``split`` input gets ``num_outputs`` (opset 18).

Every other opset-18/19 change (Pad ``axes``, Resize ``antialias``/``axes``/
``keep_aspect_ratio_policy``, Scatter* reductions, AveragePool ``dilations``,
Cast ``saturate``, ...) only adds optional inputs/attributes whose defaults
keep the opset-17 meaning.  Models that use only deformable-free ops stay at
opset 17.  The installed onnx 1.12 does not know opset 19, so
:func:`check_upgraded` verifies that no node is left in a form invalid at
opset 19, and loading the file in ONNX Runtime (done for every golden)
validates each node against its opset-19 schema.
"""

import io
import sys
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

TMP_DOMAIN = "odet.export.tmp"
EXPORT_OPSET = 17
DEFORM_OPSET = 19

# ----------------------------------------------------------------------------
# DeformConv symbolic for torchvision::deform_conv2d
# ----------------------------------------------------------------------------


def _is_zero_constant(value) -> bool:
    """True if ``value`` comes from ``torch.zeros`` (torchvision passes a
    zero bias when the layer has none)."""
    node = value.node()
    if node.kind() == "onnx::ConstantOfShape":
        t = node.t("value") if node.hasAttribute("value") else None
        return t is None or float(t.abs().max()) == 0.0
    if node.kind() == "onnx::Constant" and node.hasAttribute("value"):
        t = node.t("value")
        return t.numel() > 0 and float(t.abs().max()) == 0.0
    return False


def _deform_conv2d_symbolic(g, input, weight, offset, mask, bias, stride_h,
                            stride_w, pad_h, pad_w, dil_h, dil_w, n_weight_grps,
                            n_offset_grps, use_mask):
    from torch.onnx import symbolic_helper as sh

    def const(v, name):
        return sh._get_const(v, "i", name)
    stride_h, stride_w = const(stride_h, "stride_h"), const(stride_w, "stride_w")
    pad_h, pad_w = const(pad_h, "pad_h"), const(pad_w, "pad_w")
    dil_h, dil_w = const(dil_h, "dil_h"), const(dil_w, "dil_w")
    n_weight_grps = const(n_weight_grps, "groups")
    n_offset_grps = const(n_offset_grps, "offset_groups")
    use_mask = sh._get_const(use_mask, "b", "use_mask")

    w_sizes = weight.type().sizes()
    kh, kw = int(w_sizes[2]), int(w_sizes[3])
    # ONNX inputs: X, W, offset, B (optional), mask (optional).  A layer
    # without bias (torchvision passes zeros) omits B unless the mask needs
    # the slot, in which case the zero bias is kept: same result.
    inputs = [input, weight, offset]
    if use_mask:
        inputs += [bias, mask]
    elif not _is_zero_constant(bias):
        inputs.append(bias)
    # torch cannot infer shapes through a custom-domain op (it warns about
    # it); infer_static_shapes() fixes the shapes after export.
    return g.op(TMP_DOMAIN + "::DeformConv", *inputs,
                dilations_i=[dil_h, dil_w], group_i=n_weight_grps,
                offset_group_i=n_offset_grps, kernel_shape_i=[kh, kw],
                pads_i=[pad_h, pad_w, pad_h, pad_w], strides_i=[stride_h, stride_w])


_registered = False


def register_deform_conv_symbolic() -> None:
    global _registered
    if _registered:
        return
    import torchvision  # noqa: F401  (registers torch.ops.torchvision)
    torch.onnx.register_custom_op_symbolic("torchvision::deform_conv2d",
                                           _deform_conv2d_symbolic, EXPORT_OPSET)
    _registered = True


# ----------------------------------------------------------------------------
# Deterministic random weights
# ----------------------------------------------------------------------------


def is_batchnorm(m: nn.Module) -> bool:
    """nn.BatchNorm2d or a frozen (buffer-only) batch norm."""
    return (isinstance(m, nn.modules.batchnorm._BatchNorm)
            or (hasattr(m, "running_mean") and hasattr(m, "running_var")
                and hasattr(m, "weight") and hasattr(m, "bias")))


def _uniform(gen: torch.Generator, shape, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


@torch.no_grad()
def randomize_norm_affine(model: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial affine parameters for every normalisation layer, and
    small random values for biases that default to zero (attention
    projections, DCN), so that no bias is a no-op."""
    norms = set()
    for m in model.modules():
        if is_batchnorm(m) or isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            norms.add(m)
            if getattr(m, "weight", None) is not None:
                m.weight.copy_(_uniform(gen, m.weight.shape, 0.5, 1.5))
            if getattr(m, "bias", None) is not None:
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=gen))
    for name, p in model.named_parameters():
        if name.endswith("bias") and p.dim() == 1 and not p.any():
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, inputs: Sequence[torch.Tensor],
                        gen: torch.Generator, noise: Optional[dict] = None,
                        mean_jitter: float = 0.25,
                        var_scale: Sequence[float] = (0.6, 1.6)) -> dict:
    """Set batch-norm running statistics from one forward pass.

    Each BN layer, in execution order, receives the per-channel mean/variance
    of the activation it actually sees, then a random perturbation (mean
    shifted by ``mean_jitter`` standard deviations, variance scaled into
    ``var_scale``).  Statistics are thus far from the 0/1 defaults, so the
    normalisation is really exercised, while activations stay O(1) through
    any depth instead of exploding or vanishing.  The perturbations are
    returned; passing them back as ``noise`` re-calibrates after a change
    upstream with the same perturbations (layers whose input did not
    change keep their statistics).
    """
    noise = {} if noise is None else noise

    def pre_hook(m, args):
        t = args[0].detach().double()
        dims = [d for d in range(t.dim()) if d != 1]
        mean = t.mean(dims)
        var = t.var(dims, unbiased=False)
        var = var.clamp_min(max(1e-2 * float(var.mean()), 1e-6))
        c = mean.numel()
        if m not in noise:
            noise[m] = (torch.randn(c, generator=gen).double(),
                        _uniform(gen, (c,), *var_scale).double())
        z, scale = noise[m]
        m.running_mean.copy_((mean + mean_jitter * var.sqrt() * z).float())
        m.running_var.copy_((var * scale).float())

    handles = [m.register_forward_pre_hook(pre_hook)
               for m in model.modules() if is_batchnorm(m)]
    try:
        model.eval()
        model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return noise


# ----------------------------------------------------------------------------
# Opset 17 -> 19 upgrade
# ----------------------------------------------------------------------------

REDUCE_AXES_INPUT_18 = {
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare",
}


def _all_nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield graph, node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _all_nodes(sub)


def has_placeholder_ops(model: onnx.ModelProto) -> bool:
    return any(n.domain == TMP_DOMAIN for _, n in _all_nodes(model.graph))


def upgrade_to_opset19(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite an opset-17 export with placeholder DeformConv nodes into a
    valid opset-19 model (see the module docstring)."""
    counter = 0
    for graph, node in list(_all_nodes(model.graph)):
        if node.domain == TMP_DOMAIN:
            node.domain = ""
        if node.op_type in REDUCE_AXES_INPUT_18 and node.domain == "":
            axes = [a for a in node.attribute if a.name == "axes"]
            if axes:
                values = list(axes[0].ints)
                node.attribute.remove(axes[0])
                name = f"{node.name or node.op_type}_axes_{counter}"
                counter += 1
                graph.initializer.append(
                    numpy_helper.from_array(np.array(values, dtype=np.int64), name))
                del node.input[1:]
                node.input.append(name)
        if node.op_type == "Split" and node.domain == "":
            if len(node.input) < 2 or node.input[1] == "":
                if not any(a.name == "num_outputs" for a in node.attribute):
                    node.attribute.append(
                        helper.make_attribute("num_outputs", len(node.output)))
    imports = [op for op in model.opset_import if op.domain not in ("", TMP_DOMAIN)]
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", DEFORM_OPSET))
    model.opset_import.extend(imports)
    model.ir_version = max(model.ir_version, 9)  # IR 9 came with opset 19
    check_upgraded(model)
    return model


def check_upgraded(model: onnx.ModelProto) -> None:
    """Structural checks the onnx 1.12 checker cannot do for opset 19."""
    problems = []
    for _, node in _all_nodes(model.graph):
        if node.domain == TMP_DOMAIN:
            problems.append(f"{node.name}: placeholder domain left")
        if node.op_type in REDUCE_AXES_INPUT_18 and any(a.name == "axes" for a in node.attribute):
            problems.append(f"{node.name}: {node.op_type} still has an axes attribute")
        if node.op_type == "Split" and (len(node.input) < 2 or node.input[1] == "") \
                and not any(a.name == "num_outputs" for a in node.attribute):
            problems.append(f"{node.name}: Split without split input or num_outputs")
        if node.op_type == "DeformConv":
            if len(node.input) < 3 or len(node.input) > 5:
                problems.append(f"{node.name}: DeformConv with {len(node.input)} inputs")
    if problems:
        raise RuntimeError("opset 19 upgrade incomplete:\n  " + "\n  ".join(problems))


# ----------------------------------------------------------------------------
# Export, metadata, op lists, checkpoints
# ----------------------------------------------------------------------------


def op_types(model: onnx.ModelProto) -> List[str]:
    ops = set()
    for _, node in _all_nodes(model.graph):
        default = node.domain in ("", "ai.onnx")
        ops.add(node.op_type if default else f"{node.domain}::{node.op_type}")
    return sorted(ops)


def opset_version(model: onnx.ModelProto) -> int:
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            return op.version
    return 0


def set_metadata(model: onnx.ModelProto, meta: Dict[str, str]) -> None:
    existing = {p.key: p for p in model.metadata_props}
    for key, value in meta.items():
        if key in existing:
            existing[key].value = str(value)
        else:
            p = model.metadata_props.add()
            p.key, p.value = key, str(value)


def _static_dims(vi) -> Optional[List[int]]:
    if vi is None or not vi.type.HasField("tensor_type") \
            or not vi.type.tensor_type.HasField("shape"):
        return None
    dims = vi.type.tensor_type.shape.dim
    if any(not d.HasField("dim_value") for d in dims):
        return None
    return [d.dim_value for d in dims]


def _set_static_shape(vi, dims: Sequence[int]) -> None:
    shape = vi.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = int(d)


def _deform_conv_out_shape(node, x: List[int], w: List[int]) -> List[int]:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    kh, kw = attrs.get("kernel_shape", w[2:])
    sh, sw = attrs.get("strides", [1, 1])
    dh, dw = attrs.get("dilations", [1, 1])
    pt, pl, pb, pr = attrs.get("pads", [0, 0, 0, 0])
    oh = (x[2] + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (x[3] + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return [x[0], w[0], oh, ow]


def infer_static_shapes(model: onnx.ModelProto,
                        output_shapes: Sequence[Sequence[int]]) -> onnx.ModelProto:
    """Replace the symbolic dims torch leaves after the placeholder
    DeformConv nodes (it cannot infer them) with static shapes: graph
    outputs from the eager run, DeformConv outputs computed here, the rest
    by ONNX shape inference (its data propagation crashes in onnx 1.12).
    Intermediate tensors it cannot infer get no value_info."""
    g = model.graph
    static = [vi for vi in g.value_info if _static_dims(vi) is not None]
    del g.value_info[:]
    g.value_info.extend(static)
    for out, dims in zip(g.output, output_shapes):
        _set_static_shape(out, dims)
    init_dims = {t.name: list(t.dims) for t in g.initializer}
    for _ in range(len(g.node) + 1):
        inferred = onnx.shape_inference.infer_shapes(model)
        known = {vi.name: vi for vi in list(inferred.graph.value_info)
                 + list(inferred.graph.input) + list(inferred.graph.output)}
        added = False
        for node in g.node:
            if node.domain != TMP_DOMAIN or node.op_type != "DeformConv":
                continue
            if _static_dims(known.get(node.output[0])) is not None:
                continue
            x = _static_dims(known.get(node.input[0]))
            w = init_dims.get(node.input[1]) or _static_dims(known.get(node.input[1]))
            if x is None or w is None:
                continue
            vi = helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT,
                                               _deform_conv_out_shape(node, x, w))
            g.value_info.append(vi)
            added = True
        if not added:
            break
    model = onnx.shape_inference.infer_shapes(model)
    # value_info is optional: keep only fully static entries.
    static = [vi for vi in model.graph.value_info if _static_dims(vi) is not None]
    del model.graph.value_info[:]
    model.graph.value_info.extend(static)
    for out in model.graph.output:
        if _static_dims(out) is None:
            raise RuntimeError(f"graph output {out.name} has no static shape")
    return model


def export_onnx(model: nn.Module, inputs: Sequence[torch.Tensor],
                input_names: Sequence[str], output_names: Sequence[str],
                metadata: Dict[str, str]) -> onnx.ModelProto:
    """Trace-export ``model`` (eval mode) and return the final ModelProto
    (opset 17, or opset 19 when it contains DeformConv) with static shapes
    on every tensor."""
    register_deform_conv_symbolic()
    model.eval()
    buf = io.BytesIO()
    with torch.no_grad():
        outs = model(*inputs)
        outs = [outs] if isinstance(outs, torch.Tensor) else list(outs)
        torch.onnx.export(model, tuple(inputs), buf, opset_version=EXPORT_OPSET,
                          do_constant_folding=True, input_names=list(input_names),
                          output_names=list(output_names),
                          training=torch.onnx.TrainingMode.EVAL)
    proto = onnx.load_from_string(buf.getvalue())
    # Full check (including shape inference) of the opset-17 graph;
    # placeholder-domain DeformConv nodes are not validated here.
    onnx.checker.check_model(proto, full_check=True)
    if has_placeholder_ops(proto):
        proto = infer_static_shapes(proto, [tuple(o.shape) for o in outs])
        proto = upgrade_to_opset19(proto)
    set_metadata(proto, metadata)
    return proto


def load_checkpoint(model: nn.Module, path: str, out=sys.stdout) -> None:
    """Load a state dict non-strictly and report what did not match.

    Accepts a bare state dict or one wrapped under ``state_dict``/``model``
    (mmdet, CenterNet and DETR checkpoints); a ``module.`` prefix from
    DataParallel is stripped.  Tensors whose shape differs from the model's
    are skipped and listed.
    """
    sd = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: no state dict found")
    sd = {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}
    own = model.state_dict()
    mismatched = {k: (tuple(v.shape), tuple(own[k].shape)) for k, v in sd.items()
                  if k in own and hasattr(v, "shape") and tuple(v.shape) != tuple(own[k].shape)}
    for k in mismatched:
        del sd[k]
    result = model.load_state_dict(sd, strict=False)
    loaded = len(sd) - len(result.unexpected_keys)
    print(f"checkpoint {path}: loaded {loaded} of {len(own)} model tensors", file=out)
    missing = [k for k in result.missing_keys if k not in mismatched]
    print(f"  missing keys (left random): {len(missing)}", file=out)
    for k in missing:
        print(f"    {k}", file=out)
    print(f"  unexpected keys (ignored): {len(result.unexpected_keys)}", file=out)
    for k in result.unexpected_keys:
        print(f"    {k}", file=out)
    print(f"  shape mismatches (left random): {len(mismatched)}", file=out)
    for k, (theirs, ours) in mismatched.items():
        print(f"    {k}: checkpoint {list(theirs)} vs model {list(ours)}", file=out)


def csv(values: Iterable) -> str:
    return ",".join(str(v) for v in values)


def _bias_view(m: nn.Module, out: torch.Tensor) -> torch.Tensor:
    b = getattr(m, "bias", None)
    if b is None:
        return torch.zeros((), dtype=out.dtype)
    if isinstance(m, nn.Linear):
        return b
    return b.view(1, -1, *([1] * (out.dim() - 2)))


@torch.no_grad()
def shape_outputs(model: nn.Module, inputs: Sequence[torch.Tensor], targets,
                  gen: torch.Generator) -> None:
    """Rescale Conv/Linear layers so their outputs have a chosen spread.

    Each target is a dict: ``module``, ``std``, and optionally ``mean``,
    ``select``, ``per_channel``.  Over one forward pass (all calls of the
    module; ``select(output)`` if given) the weight is scaled so that the
    bias-free output has standard deviation ``std`` -- pooled within
    channels if ``per_channel`` (default), else over all elements.  If
    ``mean`` is given, the bias is set so that every output channel
    averages ``mean`` (plus 0.1 * std noise).  Used to give random heads
    trained-like output ranges.  Targets must not feed each other (call
    again for a dependent layer).
    """
    outs = {t["module"]: [] for t in targets}
    selects = {t["module"]: t.get("select") for t in targets}

    def hook(mod, args, out):
        sel = selects[mod]
        x = out.detach() - _bias_view(mod, out)
        outs[mod].append(sel(x) if sel is not None else x)

    hooks = [t["module"].register_forward_hook(hook) for t in targets]
    try:
        model.eval()
        model(*inputs)
    finally:
        for h in hooks:
            h.remove()
    for t in targets:
        m, std, mean = t["module"], t["std"], t.get("mean")
        ch_dim = -1 if isinstance(m, nn.Linear) else 1
        parts = [x.movedim(ch_dim, 0).reshape(x.shape[ch_dim], -1) for x in outs[m]]
        o = torch.cat(parts, dim=1)
        if t.get("per_channel", True):
            spread = float(o.var(dim=1).mean().sqrt())
        else:
            spread = float(o.std())
        factor = std / max(spread, 1e-12)
        m.weight.mul_(factor)
        if mean is not None:
            m.bias.copy_(mean - factor * o.mean(dim=1)
                         + 0.1 * std * torch.randn(m.bias.shape, generator=gen))
