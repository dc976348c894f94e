#!/usr/bin/python3
"""Train, evaluate and export a compact CenterNet on the synthetic shapes.

    train_centernet.py train  --out-dir DIR [--minutes M | --iters N] ...
    train_centernet.py eval   --checkpoint FILE [--seed 9001 --count 300]
    train_centernet.py export --checkpoint FILE --out FILE.onnx [--ap50 X]
    train_centernet.py check  --checkpoint FILE --images DIR --annotations FILE [--draw FILE]
    train_centernet.py examples --out DIR [--seed 424242]

The network is models/export/centernet.py's PoseResNet (official CenterNet
module names) with a compact ResNet-18 layout.  Preprocessing, targets,
losses and decoding follow the official CenterNet ctdet code; see
centernet_train_utils.py and TRAINING.md.
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

import centernet_train_utils as U  # noqa: E402
import train_common as C  # noqa: E402
import torch  # noqa: E402
from synth import CLASSES, Config  # noqa: E402


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def log(msg, f=None):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    if f:
        f.write(line + "\n")
        f.flush()


# ------------------------------------------------------------------ eval

def eval_set(model, data, input_size, score_thr=0.3, K=100, batch=32):
    """Official test pipeline on (jpeg, w, h, objects) items, batched (every
    image is warped to the same square input)."""
    model.eval()
    dets, gts = [], []
    out = input_size // U.DOWN_RATIO
    with torch.no_grad():
        for b0 in range(0, len(data), batch):
            items = data[b0:b0 + batch]
            pre = [U.preprocess(U.decode_jpeg_bgr(it[0]), input_size) for it in items]
            x = torch.from_numpy(np.stack([p[0] for p in pre]))
            hm, wh, reg = model(x)
            d = U.ctdet_decode(hm, wh, reg, K).numpy()
            for k, (_, c, s) in enumerate(pre):
                dets.append(U.post_process(d[k], c, s, out))
                gts.append(U.gt_array(items[k][3]))
    return U.evaluate(dets, gts, score_thr=score_thr), dets, gts


def load_model(path):
    ck = torch.load(path, map_location="cpu")
    model = U.build_model(ck.get("model_cfg", U.MODEL_CFG))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


# ----------------------------------------------------------------- train

class BatchStream(torch.utils.data.IterableDataset):
    """Endless stream of augmented training batches (own RNG per worker)."""

    def __init__(self, data, a):
        super().__init__()
        self.data, self.a = data, a

    def __iter__(self):
        a = self.a
        rng = C.worker_rng(a.seed)
        names = ("input", "hm", "wh", "reg", "ind", "mask")
        while True:
            idx = rng.integers(0, len(self.data), a.batch)
            parts = [U.make_train_sample(rng, U.decode_jpeg_bgr(self.data[i][0]),
                                         self.data[i][3], a.input_size,
                                         jitter=a.jitter, crop=a.crop) for i in idx]
            yield {n: torch.from_numpy(np.stack(c)) for n, c in zip(names, zip(*parts))}


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)
    lf = open(os.path.join(a.out_dir, "train.log"), "a")
    log("args: " + json.dumps(vars(a)), lf)
    cfg = Config(size_range=tuple(a.size_range))
    if a.input_size % 32 or (a.crop and a.crop % 32):
        raise SystemExit("--input-size and --crop must be multiples of 32 (network stride)")

    t0 = time.time()
    data = []
    for s in parse_seeds(a.train_seeds):
        data += U.cached_set(a.cache_dir, s, a.per_seed, cfg, a.jobs)
    val = U.cached_set(a.cache_dir, a.eval_seed, a.eval_count, cfg, a.jobs)
    n_obj = sum(len(d[3]) for d in data)
    log(f"data: {len(data)} train images ({n_obj} objects), {len(val)} eval images "
        f"(seed {a.eval_seed}), {time.time() - t0:.0f}s", lf)

    model = U.build_model(zero_init_residual=a.zero_init_residual)
    U.use_fast_deconv(model, True)
    model = model.to(memory_format=torch.channels_last)
    n_par = sum(p.numel() for p in model.parameters())
    log(f"model: {n_par} parameters, input {a.input_size}", lf)
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999))
    budget = a.minutes * 60.0

    def progress(it, elapsed):
        if a.iters:
            return it / a.iters
        return elapsed / budget

    def lr_at(it, p):
        warm = min(1.0, (it + 1) / a.warmup)
        cos = a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
        return a.lr * warm * cos

    loader = iter(torch.utils.data.DataLoader(
        BatchStream(data, a), batch_size=None, num_workers=a.workers,
        prefetch_factor=4 if a.workers else 2, persistent_workers=a.workers > 0))

    model.train()
    book = C.LoopBook(a, decay=0.95)
    t_start = book.t_start
    it, sm = 0, None
    while True:
        elapsed = time.time() - t_start
        p = progress(it, elapsed)
        if p >= 1.0:
            break
        lr = lr_at(it, p)
        for g in opt.param_groups:
            g["lr"] = lr
        b = next(loader)
        outs = model(b["input"].contiguous(memory_format=torch.channels_last))
        loss, parts = U.ctdet_loss(outs, b, a.wh_weight, a.off_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        it += 1
        sm = book.update(dict(loss=float(loss), **parts))
        do_log, do_ck, do_eval = book.due(it)
        if do_log:
            ips, el = book.speed(it)
            log(f"it {it} p {p:.3f} lr {lr:.2e} loss {sm['loss']:.3f} hm {sm['hm']:.3f} "
                f"wh {sm['wh']:.3f} off {sm['off']:.3f} | {ips:.1f} img/s {el:.0f}s", lf)
        if do_ck:
            save(model, os.path.join(a.out_dir, "last.pth"), it, sm, a)
        if do_eval:
            r, _, _ = eval_set(model, val[:100], a.input_size)
            model.train()
            log(f"eval@{it} (100 imgs): AP50 {r['ap50']:.4f} recall {r['recall']:.4f} "
                f"precision {r['precision']:.4f}", lf)
            book.evaluated()
    wall = time.time() - t_start
    log(f"done: {it} iterations, {it * a.batch} images, {wall / 60:.1f} min; "
        f"final smoothed loss {sm['loss']:.4f} hm {sm['hm']:.4f} wh {sm['wh']:.4f} "
        f"off {sm['off']:.4f}", lf)
    final = os.path.join(a.out_dir, "final.pth")
    save(model, final, it, sm, a, wall=wall)
    r, _, _ = eval_set(model, val, a.input_size)
    U.use_fast_deconv(model, False)
    log(f"eval seed {a.eval_seed} ({len(val)} imgs): AP50 {r['ap50']:.4f} "
        f"recall@0.3 {r['recall']:.4f} precision@0.3 {r['precision']:.4f}", lf)
    log("per class AP50: " + json.dumps({k: round(v, 4) for k, v in r["ap50_per_class"].items()}), lf)
    with open(os.path.join(a.out_dir, "result.json"), "w") as f:
        json.dump(dict(iterations=it, images=it * a.batch, wall_minutes=wall / 60,
                       final_loss=sm, eval=r, args=vars(a)), f, indent=1)
    return 0


def save(model, path, it, sm, a, wall=None):
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=sd, model_cfg=U.MODEL_CFG, iterations=it,
                    smoothed_loss=sm, wall_seconds=wall,
                    input_size=a.input_size, args=vars(a)), path + ".tmp")
    os.replace(path + ".tmp", path)


# --------------------------------------------------------- eval / export

def cmd_eval(a):
    torch.set_num_threads(a.threads)
    model, ck = load_model(a.checkpoint)
    cfg = Config(size_range=tuple(a.size_range))
    data = U.render_set(a.seed, a.count, cfg, a.jobs)
    r, _, _ = eval_set(model, data, ck["input_size"], a.score_threshold)
    print(json.dumps(r, indent=1))
    return 0


def run_onnx_with_torch(proto, x: torch.Tensor):
    """Evaluate the exported graph node by node with torch.nn.functional
    (covers exactly the op types this model exports), as an independent
    check of the ONNX file without any ONNX runtime."""
    import torch.nn.functional as F
    from onnx import helper, numpy_helper
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
           for t in proto.graph.initializer}
    env[proto.graph.input[0].name] = x
    for node in proto.graph.node:
        at = {q.name: helper.get_attribute_value(q) for q in node.attribute}
        ins = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op in ("Conv", "ConvTranspose"):
            pads = at.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:], pads
            kw = dict(stride=tuple(at.get("strides", [1, 1])), padding=tuple(pads[:2]),
                      dilation=tuple(at.get("dilations", [1, 1])), groups=at.get("group", 1))
            bias = ins[2] if len(ins) > 2 else None
            if op == "Conv":
                y = F.conv2d(ins[0], ins[1], bias, **kw)
            else:
                y = F.conv_transpose2d(ins[0], ins[1], bias,
                                       output_padding=tuple(at.get("output_padding", [0, 0])), **kw)
        elif op == "BatchNormalization":
            y = F.batch_norm(ins[0], ins[3], ins[4], ins[1], ins[2], False, 0.0,
                             at.get("epsilon", 1e-5))
        elif op == "Relu":
            y = torch.relu(ins[0])
        elif op == "Sigmoid":
            y = torch.sigmoid(ins[0])
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "MaxPool":
            pads = at.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(ins[0], tuple(at["kernel_shape"]), tuple(at.get("strides", [1, 1])),
                             tuple(pads[:2]), ceil_mode=bool(at.get("ceil_mode", 0)))
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return [env[o.name] for o in proto.graph.output]


def cmd_export(a):
    import onnx
    import centernet
    import common
    from common import csv
    model, ck = load_model(a.checkpoint)
    n = ck["input_size"]
    meta = {
        "odet.arch": "centernet",
        "odet.variant": U.VARIANT,
        "odet.input_size": f"{n}x{n}",
        "odet.mean": csv(centernet.MEAN_BGR), "odet.std": csv(centernet.STD_BGR),
        "odet.channel_order": "BGR",
        "odet.num_classes": str(len(CLASSES)),
        "odet.class_names": csv(CLASSES),
        "odet.output_stride": str(U.DOWN_RATIO),
        "odet.hm_activation": "sigmoid_applied",
        "odet.preprocess": "affine_centernet",
        "odet.score_threshold": str(a.score_threshold),
        "odet.max_detections": "100",
        "odet.train_ap50": f"{a.ap50:.4f}",
        "odet.eval_seed": "9001",
    }
    proto = common.export_onnx(model, [torch.zeros(1, 3, n, n)], ["input"],
                               ["hm", "wh", "reg"], meta)
    onnx.checker.check_model(proto, full_check=True)
    x = torch.from_numpy(U.preprocess(U.cv2.imread(a.check_image), n)[0])[None] \
        if a.check_image else torch.randn(1, 3, n, n, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x)
        got = run_onnx_with_torch(proto, x)
    for name, r, g in zip(("hm", "wh", "reg"), ref, got):
        err = float((r - g).abs().max())
        print(f"graph vs PyTorch {name}: max abs diff {err:.2e}")
        assert err < 1e-4, name
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(proto, a.out)
    if a.pth_out:
        # Plain state dict with official CenterNet key names, plus what
        # load_model needs.
        torch.save(dict(state_dict=model.state_dict(), model_cfg=ck.get("model_cfg", U.MODEL_CFG),
                        input_size=n, variant=U.VARIANT, iterations=ck.get("iterations"),
                        class_names=list(CLASSES), eval_ap50=a.ap50), a.pth_out)
        print(f"{a.pth_out}: {os.path.getsize(a.pth_out) / 1e6:.2f} MB")
    print(f"{a.out}: opset {common.opset_version(proto)}, {len(proto.graph.node)} nodes, "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB; ops: {' '.join(common.op_types(proto))}")
    return 0


def cmd_check(a):
    """Detect on a COCO-annotated image folder; report recall/AP50 and
    optionally draw one image with its detections."""
    torch.set_num_threads(a.threads)
    model, ck = load_model(a.checkpoint)
    n = ck["input_size"]
    with open(a.annotations) as f:
        coco = json.load(f)
    dets, gts, names = [], [], []
    for im in coco["images"]:
        img = U.cv2.imread(os.path.join(a.images, im["file_name"]), U.cv2.IMREAD_COLOR)
        dets.append(U.detect(model, img, n))
        objs = [(o["category_id"], o["bbox"], o["area"]) for o in coco["annotations"]
                if o["image_id"] == im["id"]]
        gts.append(U.gt_array(objs))
        names.append(im["file_name"])
    r = U.evaluate(dets, gts, score_thr=a.score_threshold)
    for name, d, g in zip(names, dets, gts):
        keep = d[d[:, 4] >= a.score_threshold]
        rr = U.evaluate([d], [g], score_thr=a.score_threshold)
        print(f"{name}: {len(g)} objects, {len(keep)} detections >= {a.score_threshold}, "
              f"recall {rr['recall']:.3f}")
    print(json.dumps({k: r[k] for k in ("ap50", "recall", "precision", "n_gt", "n_det_thr")}))
    if a.draw:
        i = a.draw_index
        img = U.cv2.imread(os.path.join(a.images, names[i]), U.cv2.IMREAD_COLOR)
        for x1, y1, x2, y2, c in gts[i]:
            U.cv2.rectangle(img, (int(x1), int(y1)), (int(round(x2)), int(round(y2))),
                            (0, 255, 0), 1)
        for x1, y1, x2, y2, s, c in dets[i][dets[i][:, 4] >= a.score_threshold]:
            U.cv2.rectangle(img, (int(x1), int(y1)), (int(round(x2)), int(round(y2))),
                            (0, 0, 255), 1)
            U.cv2.putText(img, f"{CLASSES[int(c)]} {s:.2f}", (int(x1), max(10, int(y1) - 3)),
                          U.cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 255), 1)
        U.cv2.imwrite(a.draw, img)
    return 0


EXAMPLE_SIZES = ((640, 480), (300, 500), (512, 384), (320, 320), (448, 256))


def cmd_examples(a):
    """Example images: image k of stream --seed at size EXAMPLE_SIZES[k], one
    make_dataset.py run each (so every size is exact), merged into one COCO
    file (image id = k + 1).  Files are named shapes_WxH.jpg."""
    import shutil
    import tempfile
    import make_dataset
    os.makedirs(a.out, exist_ok=True)
    merged = None
    with tempfile.TemporaryDirectory() as tmp:
        for k, (w, h) in enumerate(EXAMPLE_SIZES):
            d = os.path.join(tmp, str(k))
            args = ["--seed", str(a.seed), "--start", str(k), "--count", "1",
                    "--width", str(w), "--height", str(h),
                    "--min-objects", str(a.min_objects), "--max-objects", str(a.max_objects),
                    "--out", d, "--quiet"]
            print("make_dataset.py " + " ".join(args))
            make_dataset.main(args)
            with open(os.path.join(d, "annotations.json")) as f:
                coco = json.load(f)
            for im in coco["images"]:
                name = f"shapes_{w}x{h}.jpg"
                shutil.copy(os.path.join(d, "images", im["file_name"]),
                            os.path.join(a.out, name))
                im["file_name"] = name
            if merged is None:
                merged = coco
                merged["info"]["description"] += " (odet examples)"
                merged["info"]["count"] = len(EXAMPLE_SIZES)
                merged["info"]["options"]["width"] = None
                merged["info"]["options"]["height"] = None
                merged["info"]["sizes"] = [list(s) for s in EXAMPLE_SIZES]
                merged["info"]["make_dataset_args"] = []
            else:
                merged["images"] += coco["images"]
                for ann in coco["annotations"]:
                    ann["id"] = len(merged["annotations"]) + 1
                    merged["annotations"].append(ann)
            merged["info"]["make_dataset_args"].append(args[:-3])
    with open(os.path.join(a.out, "annotations.json"), "w") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    print(f"{len(merged['images'])} images, {len(merged['annotations'])} objects -> {a.out}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    C.add_data_args(t)
    t.add_argument("--input-size", type=int, default=256)
    t.add_argument("--crop", type=int, default=192,
                   help="train on random CROPxCROP windows of the input square (0: full)")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--min-lr-frac", type=float, default=0.01)
    t.add_argument("--wd", type=float, default=1e-2)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--minutes", type=float, default=60.0,
                   help="wall-clock budget: cosine LR over elapsed/budget")
    t.add_argument("--iters", type=int, default=0,
                   help="fixed iteration count instead of the time budget")
    t.add_argument("--jitter", type=float, default=0.2)
    t.add_argument("--zero-init-residual", type=int, default=1,
                   help="He init + zero last BN gamma per residual block (1) or PyTorch defaults (0)")
    t.add_argument("--wh-weight", type=float, default=0.1)
    t.add_argument("--off-weight", type=float, default=1.0)
    C.add_run_args(t, eval_every=10.0, jobs=2)
    e = sub.add_parser("eval")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--seed", type=int, default=9001)
    e.add_argument("--count", type=int, default=300)
    e.add_argument("--size-range", type=int, nargs=2, default=(192, 512))
    e.add_argument("--score-threshold", type=float, default=0.3)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--jobs", type=int, default=2)
    x = sub.add_parser("export")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--out", required=True)
    x.add_argument("--ap50", type=float, required=True, help="held-out AP50 to record")
    x.add_argument("--score-threshold", type=float, default=0.3)
    x.add_argument("--pth-out", help="also write the checkpoint (state dict) here")
    x.add_argument("--check-image", help="image for the graph-vs-PyTorch check (default: noise)")
    c = sub.add_parser("check")
    c.add_argument("--checkpoint", required=True)
    c.add_argument("--images", required=True)
    c.add_argument("--annotations", required=True)
    c.add_argument("--score-threshold", type=float, default=0.3)
    c.add_argument("--draw", help="write image --draw-index with boxes here")
    c.add_argument("--draw-index", type=int, default=0)
    c.add_argument("--threads", type=int, default=1)
    x = sub.add_parser("examples")
    x.add_argument("--out", required=True)
    x.add_argument("--seed", type=int, default=424242)
    x.add_argument("--min-objects", type=int, default=3)
    x.add_argument("--max-objects", type=int, default=6)
    a = ap.parse_args(argv)
    return {"train": train, "eval": cmd_eval, "export": cmd_export, "check": cmd_check,
            "examples": cmd_examples}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
