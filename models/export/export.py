#!/usr/bin/python3
"""Export a detector to ONNX.

    export.py --arch centernet|centernet_dcn|detr|vfnet --size small|full|shapes
              --out FILE [--checkpoint FILE] [--seed S]
              [--ops-out FILE] [--data-dir DIR] [--input-seed S]

Without ``--checkpoint`` the weights are random but deterministic for a
given ``--seed`` (see README.md).  ``--checkpoint`` loads a state dict on top
(strict=False) and lists missing, unexpected and shape-mismatched keys.
``--data-dir`` also writes DIR/input_0.pb (standard normal input, seeded by
``--input-seed``) and PyTorch eager outputs DIR/torch/output_K.pb.
"""

import argparse
import os
import sys
from typing import List, Optional, Sequence

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import common  # noqa: E402
import resnet  # noqa: E402

ARCHS = ("centernet", "centernet_dcn", "detr", "vfnet")
SIZES = ("small", "full", "shapes")  # shapes: trained on the synthetic dataset


def build(arch: str, size: str):
    if arch in ("centernet", "centernet_dcn"):
        import centernet
        return centernet.build(size, dcn=arch == "centernet_dcn")
    if arch == "detr":
        import detr
        return detr.build(size)
    if arch == "vfnet":
        import vfnet
        return vfnet.build(size)
    raise ValueError(f"unknown arch {arch!r}")


def make_model(arch: str, size: str, seed: int = 0, checkpoint: Optional[str] = None):
    """Build the model with deterministic random weights (and an optional
    checkpoint on top); returns (model in eval mode, spec)."""
    torch.manual_seed(seed)
    model, spec = build(arch, size)
    gen = torch.Generator().manual_seed(seed + 1)
    calib = [torch.randn(s, generator=gen) for s in spec["input_shapes"]]
    common.randomize_norm_affine(model, gen)
    resnet.damp_residual_branches(model, gen)
    bn_noise = common.calibrate_batchnorm(model, calib, gen)
    if hasattr(model, "randomize_extra"):
        model.randomize_extra(gen, *calib)
        # Layers after the changed ones (CenterNet's DCN) see new inputs.
        common.calibrate_batchnorm(model, calib, gen, bn_noise)
    if checkpoint:
        common.load_checkpoint(model, checkpoint)
    model.eval()
    return model, spec


def make_inputs(spec, seed: int) -> List[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen) for s in spec["input_shapes"]]


def export(model, spec, path: Optional[str] = None) -> onnx.ModelProto:
    example = [torch.zeros(s) for s in spec["input_shapes"]]
    proto = common.export_onnx(model, example, spec["input_names"],
                               spec["output_names"], spec["metadata"])
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        onnx.save(proto, path)
    return proto


@torch.no_grad()
def run_eager(model, inputs: Sequence[torch.Tensor]) -> List[np.ndarray]:
    outs = model(*inputs)
    if isinstance(outs, torch.Tensor):
        outs = (outs,)
    return [o.detach().cpu().numpy() for o in outs]


def save_pb(array: np.ndarray, name: str, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    t = numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def write_inputs(spec, inputs, directory: str) -> List[str]:
    paths = []
    for k, (name, x) in enumerate(zip(spec["input_names"], inputs)):
        p = os.path.join(directory, f"input_{k}.pb")
        save_pb(x.numpy(), name, p)
        paths.append(p)
    return paths


def write_outputs(spec, outputs, directory: str) -> None:
    for k, (name, y) in enumerate(zip(spec["output_names"], outputs)):
        save_pb(y, name, os.path.join(directory, f"output_{k}.pb"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Export an odet detector to ONNX.")
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("--size", required=True, choices=SIZES)
    ap.add_argument("--out", required=True, help="output .onnx file")
    ap.add_argument("--checkpoint", help="state dict to load (strict=False)")
    ap.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    ap.add_argument("--ops-out", help="write the sorted op types, one per line")
    ap.add_argument("--data-dir", help="write input_0.pb and torch/output_K.pb here")
    ap.add_argument("--input-seed", type=int, default=1234, help="input seed (default 1234)")
    args = ap.parse_args(argv)

    model, spec = make_model(args.arch, args.size, args.seed, args.checkpoint)
    proto = export(model, spec, args.out)
    ops = common.op_types(proto)
    size_mb = os.path.getsize(args.out) / 1e6
    print(f"{args.out}: opset {common.opset_version(proto)}, {len(proto.graph.node)} nodes, "
          f"{size_mb:.2f} MB")
    print("ops: " + " ".join(ops))
    if args.ops_out:
        with open(args.ops_out, "w") as f:
            f.write("\n".join(ops) + "\n")
    if args.data_dir:
        inputs = make_inputs(spec, args.input_seed)
        write_inputs(spec, inputs, args.data_dir)
        write_outputs(spec, run_eager(model, inputs), os.path.join(args.data_dir, "torch"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
