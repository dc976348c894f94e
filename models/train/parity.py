#!/usr/bin/python3
"""Accuracy parity: the trained detectors through PyTorch eager (with their
reference post-processing) and through odet (`detect-eval`), scored with the
COCO protocol on the same data set.

    /usr/bin/python3 models/train/parity.py --data DIR [--models centernet,detr,vfnet]
        [--detect-eval build/tools/detect-eval] [--threads 1] [--work /tmp/odet_parity]
        [--record FILE]

DIR holds images/ and annotations.json as written by make_dataset.py.  For
every model:

* PyTorch: the checkpoint (.pth) next to the shipped .onnx, loaded with the
  training script's `load_model`; the image read with cv2 (BGR) and run
  through the training script's test pipeline (CenterNet: affine warp,
  ctdet_decode; DETR: letterbox, softmax, torchvision box_convert; VFNet:
  letterbox, torchvision batched_nms), score >= 0.001, at most 100
  detections per image.  Scored with the numpy COCO reference
  (tests/postprocess/coco_eval_ref.py).
With --png both sides read lossless copies of the images decoded once by
cv2, which takes the JPEG decoders (stb_image in odet, libjpeg-turbo in
cv2) out of the comparison.

* odet: `detect-eval --model X.onnx --threshold 0.001 --max-detections 100
  --results R.json`, whose printed summary gives odet's numbers; its result
  file is also scored with the numpy reference, and the PyTorch result file
  with `detect-eval --score`, so both evaluators are cross-checked on real
  detections.

Prints a Markdown table (AP, AP50, AP75 side by side, |difference|) and
exits 1 when a model differs by more than --tolerance (0.005) AP.
--record FILE writes the PyTorch AP50 of every model (the values the
end-to-end test compares detect-eval against).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "postprocess"))

import coco_eval_ref  # noqa: E402

SCORE_THR = 0.001
MAX_DETS = 100


def centernet_runner():
    import centernet_train_utils as U
    import train_centernet as T
    model, ck = T.load_model(os.path.join(ROOT, "models/default/centernet_shapes.pth"))
    size = int(ck.get("input_size", 256))

    def run(img):
        d = U.detect(model, img, size, K=MAX_DETS)
        d = d[d[:, 4] >= SCORE_THR]
        return d[:, :4].astype(np.float64), d[:, 4].astype(np.float64), d[:, 5].astype(int)
    return run, "models/default/centernet_shapes.onnx"


def detr_runner():
    import train_detr as T
    model = T.load_model(os.path.join(ROOT, "models/zoo/detr_shapes.pth"))

    def run(img):
        return T.detect_torch(model, img, score_thr=SCORE_THR, max_dets=MAX_DETS)
    return run, "models/zoo/detr_shapes.onnx"


def vfnet_runner():
    import train_vfnet as T
    model = T.load_model(os.path.join(ROOT, "models/zoo/vfnet_shapes.pth"))

    def run(img):
        return T.detect_torch(model, img, score_thr=SCORE_THR, max_dets=MAX_DETS)
    return run, "models/zoo/vfnet_shapes.onnx"


RUNNERS = {"centernet": centernet_runner, "detr": detr_runner, "vfnet": vfnet_runner}


def class_names(onnx_path):
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    meta = {p.key: p.value for p in m.metadata_props}
    return meta["odet.class_names"].split(",")


def torch_results(run, names, gt, image_dir):
    by_name = {c["name"]: c["id"] for c in gt["categories"]}
    cat_of = [by_name[n] for n in names]
    out = []
    t0 = time.time()
    for im in gt["images"]:
        img = cv2.imread(os.path.join(image_dir, im["file_name"]), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f"cannot read {im['file_name']}")
        boxes, scores, labels = run(img)
        for b, s, c in zip(boxes, scores, labels):
            x1, y1, x2, y2 = (float(v) for v in b)
            out.append({"image_id": im["id"], "category_id": cat_of[int(c)],
                        "bbox": [x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)],
                        "score": float(s)})
    return out, (time.time() - t0) * 1e3 / max(len(gt["images"]), 1)


def parse_summary(text):
    vals = [float(line.rsplit("=", 1)[1]) for line in text.splitlines()
            if line.startswith(" Average ")]
    if len(vals) != 12:
        raise SystemExit("unexpected detect-eval output:\n" + text)
    return vals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="dir with images/ and annotations.json")
    ap.add_argument("--models", default="centernet,detr,vfnet")
    ap.add_argument("--detect-eval", default=os.path.join(ROOT, "build/tools/detect-eval"))
    ap.add_argument("--threads", type=int, default=1, help="odet and torch threads")
    ap.add_argument("--work", default="/tmp/odet_parity", help="result files go here")
    ap.add_argument("--tolerance", type=float, default=0.005)
    ap.add_argument("--record", help="write 'MODEL.onnx ap50 VALUE' lines (PyTorch AP50)")
    ap.add_argument("--png", action="store_true",
                    help="decode every image once with cv2 and run both sides on PNG copies "
                         "(separates JPEG decoder differences from the rest)")
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    ann = os.path.join(a.data, "annotations.json")
    image_dir = os.path.join(a.data, "images")
    with open(ann) as f:
        gt = json.load(f)
    os.makedirs(a.work, exist_ok=True)
    if a.png:
        image_dir = os.path.join(a.work, "png")
        os.makedirs(image_dir, exist_ok=True)
        for im in gt["images"]:
            img = cv2.imread(os.path.join(a.data, "images", im["file_name"]), cv2.IMREAD_COLOR)
            im["file_name"] = os.path.splitext(im["file_name"])[0] + ".png"
            cv2.imwrite(os.path.join(image_dir, im["file_name"]), img)
        ann = os.path.join(a.work, "annotations_png.json")
        with open(ann, "w") as f:
            json.dump(gt, f)
    rows, record, worst = [], [], 0.0
    for name in a.models.split(","):
        run, onnx_rel = RUNNERS[name]()
        onnx_path = os.path.join(ROOT, onnx_rel)
        dets, torch_ms = torch_results(run, class_names(onnx_path), gt, image_dir)
        t_json = os.path.join(a.work, f"{name}_torch.json")
        with open(t_json, "w") as f:
            json.dump(dets, f)
        t_stats = coco_eval_ref.evaluate(gt, dets)["stats"]

        o_json = os.path.join(a.work, f"{name}_odet.json")
        t0 = time.time()
        p = subprocess.run([a.detect_eval, "--model", onnx_path, "--images", image_dir,
                            "--annotations", ann, "--threshold", str(SCORE_THR),
                            "--max-detections", str(MAX_DETS), "--threads", str(a.threads),
                            "--results", o_json, "--summary-json", o_json + ".summary",
                            "--quiet"],
                           capture_output=True, text=True)
        odet_ms = (time.time() - t0) * 1e3 / max(len(gt["images"]), 1)
        if p.returncode != 0:
            raise SystemExit(f"detect-eval failed on {name}:\n{p.stderr}")
        parse_summary(p.stdout)  # the printed summary is well formed
        with open(o_json + ".summary") as f:
            keys = ("AP", "AP50", "AP75", "APs", "APm", "APl",
                    "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
            o_sum = json.load(f)["stats"]
        o_stats = [o_sum[k] for k in keys]
        with open(o_json) as f:
            o_dets = json.load(f)
        o_ref = coco_eval_ref.evaluate(gt, o_dets)["stats"]
        q = subprocess.run([a.detect_eval, "--annotations", ann, "--score", t_json, "--quiet",
                            "--summary-json", t_json + ".summary"],
                           capture_output=True, text=True, check=True)
        with open(t_json + ".summary") as f:
            t_sum = json.load(f)["stats"]
        t_c = [t_sum[k] for k in keys]
        # C evaluator vs numpy reference on the same result files
        cross = max(max(abs(x - y) for x, y in zip(o_stats, o_ref)),
                    max(abs(x - y) for x, y in zip(t_c, t_stats)))
        diff = max(abs(o_ref[i] - t_stats[i]) for i in range(3))
        worst = max(worst, diff)
        rows.append((name, onnx_rel, t_stats, o_ref, diff, cross, len(dets), len(o_dets),
                     torch_ms, odet_ms))
        record.append(f"{onnx_rel} ap50 {t_stats[1]:.4f}")

    n_obj = len(gt["annotations"])
    print(f"\n{len(gt['images'])} images, {n_obj} objects ({ann})\n")
    print("| model | PyTorch AP / AP50 / AP75 | odet AP / AP50 / AP75 | max abs diff |")
    print("|---|---|---|---|")
    for name, _, t, o, diff, *_ in rows:
        print(f"| {name} | {t[0]:.4f} / {t[1]:.4f} / {t[2]:.4f} | "
              f"{o[0]:.4f} / {o[1]:.4f} / {o[2]:.4f} | {diff:.4f} |")
    print()
    for name, _, _, _, _, cross, nt, no, tms, oms in rows:
        print(f"{name}: {nt} PyTorch / {no} odet detections; C and numpy evaluators agree to "
              f"{cross:.2g}; {tms:.1f} ms/img PyTorch, "
              f"{oms:.1f} ms/img detect-eval (incl. load)")
    if a.record:
        with open(a.record, "w") as f:
            f.write("# PyTorch eager AP50 on this data set, written by models/train/parity.py\n")
            f.write("\n".join(record) + "\n")
        print(f"wrote {a.record}")
    if worst > a.tolerance:
        print(f"FAIL: a model differs by {worst:.4f} AP > {a.tolerance}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
