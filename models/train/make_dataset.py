#!/usr/bin/python3
"""Generate a synthetic, labelled object-detection dataset in COCO format.

    /usr/bin/python3 models/train/make_dataset.py --seed 1 --count 1000 --out data/train

writes DIR/images/NNNNNN.jpg, DIR/annotations.json (COCO) and DIR/labels.txt.
Image ``i`` depends only on (seed, i) and the generation options: the same
command always writes the same bytes.  See models/train/README.md.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from synth import CLASSES, Config, render_sample  # noqa: E402


def _render(args):
    seed, index, cfg = args
    return index, render_sample(seed, index, cfg)


def _samples(seed, start, count, cfg, jobs):
    tasks = ((seed, start + i, cfg) for i in range(count))
    if jobs <= 1:
        for t in tasks:
            yield _render(t)
        return
    import multiprocessing as mp
    with mp.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_render, tasks, chunksize=8)


def coco_categories():
    return [{"id": i + 1, "name": n, "supercategory": "shape"}
            for i, n in enumerate(CLASSES)]


_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
            (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230)]


def contact_sheet(items, path, cols=5, scale=1):
    """items: list of (index, Sample).  Draws each box one pixel outside the
    pixels it covers, so a tight box touches the shape without hiding it."""
    from PIL import Image, ImageDraw
    import math as _m
    cell_w = max(s.width for _, s in items) * scale
    cell_h = max(s.height for _, s in items) * scale + 12
    rows = (len(items) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell_w + (cols - 1) * 4,
                              rows * cell_h + (rows - 1) * 4), (40, 40, 40))
    for k, (index, s) in enumerate(items):
        im = s.image()
        if scale != 1:
            im = im.resize((s.width * scale, s.height * scale), Image.NEAREST)
        d = ImageDraw.Draw(im)
        for cat, (x, y, w, h), _ in s.objects:
            col = _PALETTE[(cat - 1) % len(_PALETTE)]
            x0 = _m.floor(x * scale) - 1
            y0 = _m.floor(y * scale) - 1
            x1 = _m.ceil((x + w) * scale)
            y1 = _m.ceil((y + h) * scale)
            d.rectangle([x0, y0, x1, y1], outline=col)
            label = CLASSES[cat - 1]
            ty = y0 - 10 if y0 >= 10 else y1 + 1
            d.rectangle([x0, ty, x0 + 6 * len(label) + 1, ty + 10], fill=(0, 0, 0))
            d.text((x0 + 1, ty), label, fill=col)
        ox = (k % cols) * (cell_w + 4)
        oy = (k // cols) * (cell_h + 4)
        sheet.paste(im, (ox, oy))
        ImageDraw.Draw(sheet).text((ox + 2, oy + s.height * scale + 1),
                                   f"#{index} {s.width}x{s.height} n={len(s.objects)}",
                                   fill=(220, 220, 220))
    sheet.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="stream seed (>= 0)")
    ap.add_argument("--count", type=int, help="number of images")
    ap.add_argument("--start", type=int, default=0,
                    help="index of the first image in the stream (default 0)")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--size", type=int, default=256,
                    help="square image size (default 256)")
    ap.add_argument("--width", type=int, help="image width (overrides --size)")
    ap.add_argument("--height", type=int, help="image height (overrides --size)")
    ap.add_argument("--size-range", type=int, nargs=2, metavar=("MIN", "MAX"),
                    help="random width and height per image, each in [MIN, MAX]")
    ap.add_argument("--min-objects", type=int, default=1)
    ap.add_argument("--max-objects", type=int, default=6)
    ap.add_argument("--min-obj-size", type=float, default=16.0,
                    help="smallest object (px at 256; scaled by min(W,H)/256)")
    ap.add_argument("--max-obj-size", type=float, default=96.0,
                    help="largest object (px at 256; scaled by min(W,H)/256)")
    ap.add_argument("--min-visible", type=float, default=0.5,
                    help="least visible fraction of any object (default 0.5)")
    ap.add_argument("--jpeg-quality", type=int, nargs=2, default=(40, 95),
                    metavar=("MIN", "MAX"))
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--preview", metavar="FILE",
                    help="also write a contact sheet PNG of the first images with boxes")
    ap.add_argument("--preview-count", type=int, default=20)
    ap.add_argument("--preview-scale", type=int, default=1)
    ap.add_argument("--list-classes", action="store_true",
                    help="print the class names (category id order) and exit")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    if a.list_classes:
        print("\n".join(CLASSES))
        return 0
    if a.count is None or a.count < 0:
        ap.error("--count N is required")
    if not a.out and not a.preview:
        ap.error("give --out DIR and/or --preview FILE")
    if a.seed < 0 or a.start < 0:
        ap.error("--seed and --start must be >= 0")
    if not 0 <= a.min_objects <= a.max_objects:
        ap.error("need 0 <= --min-objects <= --max-objects")
    if a.size_range and not 8 <= a.size_range[0] <= a.size_range[1]:
        ap.error("need 8 <= MIN <= MAX for --size-range")
    if not 0.0 < a.min_obj_size <= a.max_obj_size:
        ap.error("need 0 < --min-obj-size <= --max-obj-size")
    if not 1 <= a.jpeg_quality[0] <= a.jpeg_quality[1] <= 100:
        ap.error("need 1 <= MIN <= MAX <= 100 for --jpeg-quality")

    cfg = Config(width=a.width or a.size, height=a.height or a.size,
                 size_range=tuple(a.size_range) if a.size_range else None,
                 min_objects=a.min_objects, max_objects=a.max_objects,
                 min_obj_size=a.min_obj_size, max_obj_size=a.max_obj_size,
                 min_visible=a.min_visible, jpeg_quality=tuple(a.jpeg_quality))
    if cfg.width < 8 or cfg.height < 8:
        ap.error("images must be at least 8x8")

    if a.out:
        os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    images, anns, preview = [], [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for index, s in _samples(a.seed, a.start, a.count, cfg, a.jobs):
        image_id = index + 1
        name = f"{index:06d}.jpg"
        if a.out:
            with open(os.path.join(a.out, "images", name), "wb") as f:
                f.write(s.jpeg)
        images.append({"id": image_id, "file_name": name,
                       "width": s.width, "height": s.height})
        for cat, bbox, area in s.objects:
            anns.append({"id": len(anns) + 1, "image_id": image_id,
                         "category_id": cat, "bbox": bbox, "area": area,
                         "iscrowd": 0})
        if a.preview and len(preview) < a.preview_count:
            preview.append((index, s))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0

    if a.out:
        coco = {
            "info": {"description": "odet synthetic shapes",
                     "seed": a.seed, "start": a.start, "count": a.count,
                     "options": dataclasses.asdict(cfg)},
            "licenses": [],
            "images": images,
            "annotations": anns,
            "categories": coco_categories(),
        }
        with open(os.path.join(a.out, "annotations.json"), "w") as f:
            json.dump(coco, f, separators=(",", ":"))
            f.write("\n")
        with open(os.path.join(a.out, "labels.txt"), "w") as f:
            f.write("\n".join(CLASSES) + "\n")
    if a.preview and preview:
        contact_sheet(preview, a.preview, scale=a.preview_scale)
    if not a.quiet:
        msg = (f"{a.count} images, {len(anns)} objects in {dt:.2f} s "
               f"({a.count / max(dt, 1e-9):.1f} images/s")
        if a.jobs <= 1:
            msg += f"; {a.count / max(cpu, 1e-9):.1f} images per CPU second"
        print(msg + ")", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
