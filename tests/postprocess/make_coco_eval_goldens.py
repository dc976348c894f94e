#!/usr/bin/python3
"""Golden cases for the COCO bbox evaluation (pycocotools COCOeval protocol).

Run with Debian's interpreter (numpy only; pycocotools is not needed):
    /usr/bin/python3 tests/postprocess/make_coco_eval_goldens.py [out_dir]
It rewrites tests/data/coco_eval/ (or out_dir):
    cases.txt             case names, one per line
    <case>/gt.json        COCO GT: images (id, width, height, file_name),
                          annotations (id, image_id, category_id, bbox
                          [x, y, w, h], area, iscrowd, sometimes ignore),
                          categories (id, name)
    <case>/dt.json        COCO result list: image_id, category_id, bbox, score
    <case>/expected.json  {"stats": [12], "category_ids": [K], "category_ap": [K]}
                          stats in pycocotools order (AP, AP50, AP75, APs,
                          APm, APl, AR1, AR10, AR100, ARs, ARm, ARl), -1 where
                          pycocotools gives -1; category_ap is AP@[.5:.95]
                          (area all, maxDets 100) per sorted category id, -1
                          for a category without (non-crowd) GT.
Floats are written with repr (exact round trip). The output is deterministic.

The numbers come from coco_eval_ref.py (numpy re-implementation of
COCOeval, iouType 'bbox'). For every hand-built case the script also checks
the reference against values derived by hand (below, next to each case), so
the reference is tested against independent truth, not only itself.

Hand derivations use: with all detections exact copies, AP at an IoU
threshold is the mean over the 101 recall thresholds r_i = i/100 of the
interpolated precision q_i = max precision at recall >= r_i (0 past the
last recall reached); "n(r <= x)" below counts the r_i <= x. Recall values
are chosen so that no r_i coincides with an achieved recall, except where
noted (pycocotools compares in floating point: recThrs[70] is
0.7000000000000001 > 7/10).

The random cases are kept at least 1e-9 away from every IoU threshold
(see _keep_off_iou_thresholds), so they check the bulk logic (sorting, ties
across images, crowd, area ranges, truncation, accumulation) without
depending on the last bit of the IoU; exact-threshold behaviour is what
iou_threshold / iou_each_threshold / iou_tie_between_gts check.
random_large (200 images, ~2900 detections) is the one big case (~360 KB).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import coco_eval_ref as ref  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "coco_eval")
U = None  # "not checked" marker in analytic stat lists


# ----------------------------------------------------------------------------
# case builder


class Case:
    def __init__(self, name, categories):
        self.name = name
        self.images = []
        self.anns = []
        self.cats = [{"id": c, "name": n} for c, n in categories]
        self.dts = []

    def image(self, img_id, width=640, height=480):
        self.images.append({"id": img_id, "width": width, "height": height,
                            "file_name": "%s_%06d.jpg" % (self.name, img_id)})
        return img_id

    def gt(self, img, cat, box, area=None, iscrowd=0, ignore=None):
        ann = {"id": len(self.anns) + 1, "image_id": img, "category_id": cat,
               "bbox": list(box), "area": box[2] * box[3] if area is None else area,
               "iscrowd": iscrowd}
        if ignore is not None:
            ann["ignore"] = ignore
        self.anns.append(ann)
        return ann

    def dt(self, img, cat, box, score):
        self.dts.append({"image_id": img, "category_id": cat, "bbox": list(box), "score": score})

    def gt_dict(self):
        return {"images": self.images, "annotations": self.anns, "categories": self.cats}


def dumps_list(items):
    if not items:
        return "[]"
    return "[\n" + ",\n".join(json.dumps(x, separators=(",", ":")) for x in items) + "\n]"


def write_case(case, result):
    d = os.path.join(OUT, case.name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "gt.json"), "w") as f:
        f.write('{"images":%s,\n"annotations":%s,\n"categories":%s}\n' % (
            dumps_list(case.images), dumps_list(case.anns), dumps_list(case.cats)))
    with open(os.path.join(d, "dt.json"), "w") as f:
        f.write(dumps_list(case.dts) + "\n")
    exp = {"stats": [float(v) for v in result["stats"]],
           "category_ids": [int(c) for c in result["category_ids"]],
           "category_ap": [float(v) for v in result["category_ap"]]}
    with open(os.path.join(d, "expected.json"), "w") as f:
        f.write('{"stats":%s,\n"category_ids":%s,\n"category_ap":%s}\n' % (
            json.dumps(exp["stats"]), json.dumps(exp["category_ids"]),
            json.dumps(exp["category_ap"])))
    size = sum(os.path.getsize(os.path.join(d, n)) for n in ("gt.json", "dt.json", "expected.json"))
    return size


CHECKS = []


def check(case, result, stats=None, cat_ap=None, tol=1e-12):
    """Compare the reference with hand-derived values (None = not checked)."""
    got = result["stats"]
    if stats is not None:
        assert len(stats) == 12
        for i, (want, have) in enumerate(zip(stats, got)):
            if want is None:
                continue
            if abs(want - have) > tol:
                raise AssertionError("%s: %s = %r, hand-derived %r" % (
                    case.name, ref.STAT_NAMES[i], have, want))
            CHECKS.append((case.name, ref.STAT_NAMES[i], want))
    if cat_ap is not None:
        assert len(cat_ap) == len(result["category_ap"])
        for c, want, have in zip(result["category_ids"], cat_ap, result["category_ap"]):
            if want is None:
                continue
            if abs(want - have) > tol:
                raise AssertionError("%s: AP of category %s = %r, hand-derived %r" % (
                    case.name, c, have, want))
            CHECKS.append((case.name, "catAP[%s]" % c, want))


# ----------------------------------------------------------------------------
# hand-built cases


def case_perfect():
    """Every GT detected by an exact copy; at most one object per image and
    category (so AR1 = 1 too), objects in all three size ranges."""
    c = Case("perfect", [(1, "circle"), (2, "square"), (3, "triangle")])
    for i in range(1, 7):
        c.image(i)
    objs = [(1, 1, [10, 10, 20, 20]), (1, 2, [100, 50, 60, 40]), (1, 3, [300, 200, 150, 120]),
            (2, 1, [40, 30, 50, 50]), (2, 2, [200, 100, 160, 110]), (2, 3, [500, 400, 25, 30]),
            (3, 1, [0, 0, 200, 300]), (3, 2, [400, 20, 12, 18]),
            (4, 3, [250, 250, 45, 70]),
            (6, 2, [600, 450, 31, 30])]
    scores = [0.9, 0.8, 0.9, 0.7, 0.95, 0.6, 0.5, 0.9, 0.3, 0.2]
    for (img, cat, box), s in zip(objs, scores):
        c.gt(img, cat, box)
        c.dt(img, cat, box, s)
    # analytic: precision 1 at every recall, recall 1 everywhere
    return c, dict(stats=[1.0] * 12, cat_ap=[1.0] * 3)


def case_no_detections():
    """GT but an empty result list: every defined AP / AR is 0; no large GT
    so APl = ARl = -1."""
    c = Case("no_detections", [(1, "a"), (2, "b")])
    c.image(1)
    c.image(2)
    c.gt(1, 1, [10, 10, 20, 20])          # small
    c.gt(1, 2, [100, 100, 50, 50])        # medium
    c.gt(2, 1, [200, 200, 40, 40])        # medium
    c.gt(2, 2, [300, 300, 8, 8])          # small
    return c, dict(stats=[0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, -1], cat_ap=[0.0, 0.0])


def case_fp_rank(r):
    """7 GTs in one image, all detected exactly, plus one false positive at
    rank r (1..5) among the 8 detections.
    Hand: precision is 1 before the FP, k/(k+1) after it, so the envelope is
    1 for recall <= (r-1)/7 and 7/8 beyond; AP = (n1 + (101-n1)*7/8)/101
    with n1 = n(r <= (r-1)/7) (0 for r = 1: r_0 = 0 lands on the FP).
    AR1: only the top detection per image counts: 1/7, or 0 if it is the FP."""
    c = Case("fp_rank%d" % r, [(1, "thing")])
    c.image(1)
    gts = [[20 + 80 * i, 100, 50, 50] for i in range(7)]
    for b in gts:
        c.gt(1, 1, b)
    tp = iter(gts)
    for rank in range(1, 9):
        score = round(1.0 - rank / 10.0, 10)
        if rank == r:
            c.dt(1, 1, [100, 300, 50, 50], score)
        else:
            c.dt(1, 1, next(tp), score)
    n1 = {1: 0, 2: 15, 3: 29, 4: 43, 5: 58}[r]   # floor(100 (r-1) / 7) + 1
    ap = (n1 + (101 - n1) * 7 / 8) / 101
    ar1 = 0.0 if r == 1 else 1 / 7
    return c, dict(stats=[ap, ap, ap, -1, ap, -1, ar1, 1, 1, -1, 1, -1], cat_ap=[ap])


def case_crowd():
    """Crowd regions. Category 1: a crowd box, 7 regular GTs (one inside the
    crowd box), exact detections, plus
      - a detection fully inside the crowd (score .99): crowd IoU 1 -> ignored
      - a duplicate of the regular GT inside the crowd (.85): that GT is taken,
        so it falls through to the crowd -> ignored, not a FP
      - a detection 5/8 inside the crowd (.95): crowd IoU = inter / det area
        = 0.625 -> ignored for t <= 0.6, a rank-1 FP for t >= 0.65.
    Category 2 has only a crowd GT (and detections): npig = 0 -> AP -1.
    Hand: AP_t = 1 for 3 thresholds, 7/8 (see fp_rank1) for 7;
    AR1 = 0 (top detection of the image is ignored); no small / large GT
    (the crowd box is large but ignored)."""
    c = Case("crowd", [(1, "person"), (2, "car")])
    c.image(1)
    c.image(2)
    c.gt(1, 1, [300, 200, 300, 250], area=60000.0, iscrowd=1)
    regular = [[450, 350, 40, 60], [10, 10, 40, 40], [70, 10, 40, 40], [130, 10, 40, 40],
               [10, 100, 40, 50], [70, 100, 40, 50], [130, 100, 40, 50]]
    for b in regular:
        c.gt(1, 1, b)
    c.dt(1, 1, [320, 220, 60, 60], 0.99)          # inside crowd
    c.dt(1, 1, [270, 300, 80, 40], 0.95)          # 50/80 inside crowd
    c.dt(1, 1, regular[0], 0.9)
    c.dt(1, 1, regular[0], 0.85)                  # duplicate inside crowd
    for k, b in enumerate(regular[1:]):
        c.dt(1, 1, b, round(0.8 - 0.1 * k, 6))
    c.gt(2, 2, [0, 0, 300, 300], area=50000.0, iscrowd=1)
    c.dt(2, 2, [50, 50, 100, 100], 0.9)
    c.dt(2, 2, [400, 400, 50, 50], 0.8)
    ap = (3 * 1 + 7 * 7 / 8) / 10
    return c, dict(stats=[ap, 1.0, 7 / 8, -1, ap, -1, 0.0, 1, 1, -1, 1, -1], cat_ap=[ap, -1])


def case_ignore_flag():
    """A GT with "ignore": 1 (iscrowd 0). pycocotools overwrites gt['ignore']
    with iscrowd, so the field has NO effect: the GT counts as a normal one.
    GTs A, B, C(ignore: 1); detections: C (.9), A (.8); B missed.
    Hand (pycocotools): 3 GTs, TP TP -> AP = n(r <= 2/3)/101 = 67/101,
    AR100 = AR10 = 2/3, AR1 = 1/3.
    (If 'ignore' were honoured: 2 GTs, C's detection ignored, AP = 51/101,
    AR = 1/2.)"""
    c = Case("ignore_flag", [(1, "thing")])
    c.image(1)
    a = c.gt(1, 1, [10, 10, 50, 50])
    c.gt(1, 1, [100, 10, 50, 50])
    cc = c.gt(1, 1, [200, 10, 50, 50], ignore=1)
    c.dt(1, 1, cc["bbox"], 0.9)
    c.dt(1, 1, a["bbox"], 0.8)
    ap = 67 / 101
    return c, dict(stats=[ap, ap, ap, -1, ap, -1, 1 / 3, 2 / 3, 2 / 3, -1, 2 / 3, -1], cat_ap=[ap])


def case_area_boundaries():
    """Area ranges are closed at both ends: area 32**2 is small AND medium,
    96**2 is medium AND large; GT 'area' comes from the field, detection area
    is w*h. One object per image.
    Category 1: a 32x32 (det .9), b 96x96 (det .8), c1 c2 16x16, d 64x64,
    e e2 128x128 (missed), and a 200x200 FP (.95) on an empty image.
      all:    7 GTs; FP TP TP -> envelope 2/3 up to recall 2/7:
              AP = n(r <= 2/7) * 2/3 / 101 = 29*(2/3)/101, recall 2/7
      small:  {a, c1, c2}; FP out of range -> ignored, b's det matched to a
              GT ignored here -> ignored; AP = n(r <= 1/3)/101 = 34/101
      medium: {a, b, d}; FP ignored; AP = n(r <= 2/3)/101 = 67/101
      large:  {b, e, e2}; FP counts, a's det ignored: FP TP ->
              AP = 34 * 1/2 / 101
    Category 2: f bbox 40x40 but area field 900 (small), detected (det area
    1600 does not matter: it is matched); g, h 10x10 missed.
      all = small: AP = 34/101, recall 1/3; no medium / large GT -> skipped."""
    c = Case("area_boundaries", [(1, "a"), (2, "b")])
    for i in range(1, 12):
        c.image(i, 800, 600)
    a = c.gt(1, 1, [100, 100, 32, 32])
    b = c.gt(2, 1, [100, 100, 96, 96])
    c.gt(3, 1, [100, 100, 16, 16])
    c.gt(4, 1, [100, 100, 16, 16])
    c.gt(5, 1, [100, 100, 64, 64])
    c.gt(6, 1, [100, 100, 128, 128])
    c.gt(7, 1, [100, 100, 128, 128])
    f = c.gt(9, 2, [100, 100, 40, 40], area=900)
    c.gt(10, 2, [100, 100, 10, 10])
    c.gt(11, 2, [100, 100, 10, 10])
    assert a["area"] == 32 ** 2 and b["area"] == 96 ** 2
    c.dt(1, 1, a["bbox"], 0.9)
    c.dt(2, 1, b["bbox"], 0.8)
    c.dt(8, 1, [300, 300, 200, 200], 0.95)
    c.dt(9, 2, f["bbox"], 0.7)
    ap1, ap2 = 29 * (2 / 3) / 101, 34 / 101
    ar = (2 / 7 + 1 / 3) / 2
    return c, dict(stats=[(ap1 + ap2) / 2, (ap1 + ap2) / 2, (ap1 + ap2) / 2,
                          34 / 101, 67 / 101, 17 / 101,
                          ar, ar, ar, 1 / 3, 2 / 3, 1 / 3],
                   cat_ap=[ap1, ap2])


def case_category_without_gt():
    """Category 3 is listed but has no GT; it has detections (some exactly on
    category-1 boxes). It is skipped (-1) and does not lower the means.
    A detection with category 99 (not a GT category) is dropped.
    Categories 1 and 2 are detected perfectly -> all stats 1."""
    c = Case("category_without_gt", [(1, "a"), (2, "b"), (3, "never_annotated")])
    for i in range(1, 5):
        c.image(i)
    objs = [(1, 1, [10, 10, 20, 25]), (1, 2, [100, 100, 150, 100]),
            (2, 1, [50, 50, 60, 60]), (2, 2, [200, 200, 15, 15]),
            (3, 1, [0, 0, 200, 200]), (3, 2, [300, 300, 40, 40])]
    for k, (img, cat, box) in enumerate(objs):
        c.gt(img, cat, box)
        c.dt(img, cat, box, round(0.9 - 0.05 * k, 6))
    c.dt(1, 3, [10, 10, 20, 25], 0.95)
    c.dt(4, 3, [400, 300, 50, 50], 0.99)
    c.dt(2, 3, [50, 50, 60, 60], 0.3)
    c.dt(3, 99, [0, 0, 200, 200], 0.99)
    return c, dict(stats=[1.0] * 12, cat_ap=[1.0, 1.0, -1])


def case_detections_on_empty_images():
    """Detections on images without GT are false positives; an image with
    neither GT nor detections changes nothing.
    Category 1: one medium GT in images 1-3, all detected (.9 .8 .7); FPs on
    GT-less images 4 (.95) and 5 (.5): FP TP TP TP FP -> envelope 3/4 at
    every recall threshold (r_0 lands on the FP, whose envelope is 3/4;
    r_100 = 1.0 lands on the third TP, 3/3 = 1.0 exactly): AP = 0.75.
    Category 2: one small GT in image 1 (det .6), FP on image 5 (.4) after
    it: AP 1. The FPs are ignored in the size ranges they fall outside."""
    c = Case("detections_on_empty_images", [(1, "a"), (2, "b")])
    for i in range(1, 7):
        c.image(i)
    for i, s in zip((1, 2, 3), (0.9, 0.8, 0.7)):
        box = [100 + 10 * i, 100, 50, 50]
        c.gt(i, 1, box)
        c.dt(i, 1, box, s)
    c.dt(4, 1, [100, 100, 50, 50], 0.95)
    c.dt(5, 1, [200, 200, 50, 50], 0.5)
    c.gt(1, 2, [400, 300, 20, 20])
    c.dt(1, 2, [400, 300, 20, 20], 0.6)
    c.dt(5, 2, [10, 10, 20, 20], 0.4)
    return c, dict(stats=[0.875, 0.875, 0.875, 1.0, 0.75, -1, 1, 1, 1, 1, 1, -1],
                   cat_ap=[0.75, 1.0])


def case_maxdets_truncation():
    """Image 1 has 120 small GTs and 120 exact detections (file order
    shuffled) plus 10 low-score FPs: only the 100 best count. Image 2 has 6
    GTs, each detected, scores interleaved with image 1's.
    Hand: the 106 counted detections are all TPs out of 126 GTs:
    AP = n(r <= 106/126)/101 = 85/101; AR100 = 106/126, AR10 = 16/126,
    AR1 = 2/126."""
    c = Case("maxdets_truncation", [(1, "dot")])
    c.image(1, 400, 300)
    c.image(2, 400, 300)
    rng = np.random.RandomState(7)
    boxes = [[20 * i + 5, 20 * j + 5, 10, 10] for j in range(10) for i in range(12)]
    for b in boxes:
        c.gt(1, 1, b)
    scores = [round(0.999 - 0.005 * k, 6) for k in range(120)]
    dts = [(boxes[k], scores[k]) for k in range(120)]
    dts += [([300 + 8 * (k % 5), 20 + 30 * (k // 5), 6, 6], round(0.3 - 0.01 * k, 6))
            for k in range(10)]
    for k in rng.permutation(len(dts)):
        c.dt(1, 1, dts[k][0], dts[k][1])
    for k in range(6):
        b = [20 + 50 * k, 250, 12, 12]
        c.gt(2, 1, b)
        c.dt(2, 1, b, round(0.9962 - 0.1 * k, 6))
    ap = 85 / 101
    return c, dict(stats=[ap, ap, ap, ap, -1, -1, 2 / 126, 16 / 126, 106 / 126,
                          106 / 126, -1, -1], cat_ap=[ap])


def case_tied_scores():
    """Equal scores keep the stable order: within an image the result-file
    order, across images the imgId order (images are listed 3, 1, 2 in the
    GT file; the sort is by id).
    Category 1: GT A (img 1), B (img 2), C (img 3), medium; all detections
    score 0.5, file order: C-copy, FP on img 1, B-copy, A-copy. Ranked:
    img 1 (FP, A), img 2 (B), img 3 (C) -> FP TP TP TP -> AP = 3/4.
    AR1: img 1's first detection is the FP -> 2/3.
    Category 2 (img 4): one 100x100 GT (large) and two 0.5 detections:
    first in file a box with IoU 0.8 (area 8000, medium), then an exact copy.
    t <= 0.8 (7 thresholds): first = TP, copy = FP after it -> AP_t 1;
    t > 0.8 (3): FP then TP -> AP_t 1/2 (both for area all): AP = 0.85,
    AR1 = 0.7. In 'large' the unmatched 8000-area box is ignored -> APl 1."""
    c = Case("tied_scores", [(1, "a"), (2, "b")])
    for i in (3, 1, 2, 4):
        c.image(i)
    A = c.gt(1, 1, [10, 10, 50, 50])["bbox"]
    B = c.gt(2, 1, [20, 20, 50, 50])["bbox"]
    C = c.gt(3, 1, [30, 30, 50, 50])["bbox"]
    c.dt(3, 1, C, 0.5)
    c.dt(1, 1, [300, 300, 50, 50], 0.5)
    c.dt(2, 1, B, 0.5)
    c.dt(1, 1, A, 0.5)
    D = c.gt(4, 2, [100, 100, 100, 100])["bbox"]
    c.dt(4, 2, [100, 100, 80, 100], 0.5)
    c.dt(4, 2, D, 0.5)
    return c, dict(stats=[0.8, 0.875, 0.875, -1, 0.75, 1.0, (2 / 3 + 0.7) / 2, 1, 1, -1, 1, 1],
                   cat_ap=[0.75, 0.85])


def case_duplicates():
    """One image, GTs A, B, C (medium); detections A (.9), exact duplicate of
    A (.85), B (.8), C (.7), A shifted (IoU 0.8, .6).
    Hand: TP FP TP TP FP -> envelope 1 up to recall 1/3, 3/4 after:
    AP = (34 + 67 * 3/4) / 101 at every threshold; AR1 = 1/3."""
    c = Case("duplicates", [(1, "thing")])
    c.image(1)
    A = c.gt(1, 1, [10, 10, 50, 50])["bbox"]
    B = c.gt(1, 1, [100, 10, 50, 50])["bbox"]
    C = c.gt(1, 1, [200, 10, 50, 50])["bbox"]
    c.dt(1, 1, A, 0.9)
    c.dt(1, 1, A, 0.85)
    c.dt(1, 1, B, 0.8)
    c.dt(1, 1, C, 0.7)
    c.dt(1, 1, [10, 10, 40, 50], 0.6)
    ap = (34 + 67 * 0.75) / 101
    return c, dict(stats=[ap, ap, ap, -1, ap, -1, 1 / 3, 1, 1, -1, 1, -1], cat_ap=[ap])


JUST_BELOW = 2.0 ** -10


def case_iou_threshold():
    """IoU exactly at and just below 0.5 and 0.75, exact binary arithmetic:
    GT [0,0,100,100], detection [0,0,W,100] -> IoU = 100W / 10000.
    One GT and one detection per category, so AP_t is 1 (match) or 0:
      cat 1: W = 50          IoU 0.5 exactly   -> matched at t = .5 only: 0.1
      cat 2: W = 50 - 2^-10  IoU < 0.5         -> never: 0
      cat 3: W = 75          IoU 0.75 exactly  -> t = .5 .. .75: 0.6
      cat 4: W = 75 - 2^-10  IoU < 0.75        -> t = .5 .. .7: 0.5
    GTs are large, detections medium (unmatched ones are ignored in 'large',
    which gives the same 0)."""
    c = Case("iou_threshold", [(1, "at_050"), (2, "below_050"), (3, "at_075"), (4, "below_075")])
    for k, w in enumerate([50.0, 50.0 - JUST_BELOW, 75.0, 75.0 - JUST_BELOW]):
        img = c.image(k + 1)
        c.gt(img, k + 1, [0, 0, 100, 100])
        c.dt(img, k + 1, [0, 0, w, 100], 0.9)
    return c, dict(stats=[0.3, 0.75, 0.25, -1, -1, 0.3, 0.3, 0.3, 0.3, -1, -1, 0.3],
                   cat_ap=[0.1, 0.0, 0.6, 0.5])


def case_iou_each_threshold():
    """Like iou_threshold at all ten thresholds: category 2j+1 has IoU
    exactly (50+5j)/100 (matched at j+1 thresholds, AP (j+1)/10), category
    2j+2 has IoU just below it (AP j/10). Needs iouThrs computed exactly as
    np.linspace(.5, .95, 10) (e.g. iouThrs[8] = 0.8999999999999999 <= 0.9).
    AP = mean = 0.5; AP50: 19 of 20 match; AP75: 9 of 20."""
    cats = []
    for j in range(10):
        cats += [(2 * j + 1, "at_%d" % (50 + 5 * j)), (2 * j + 2, "below_%d" % (50 + 5 * j))]
    c = Case("iou_each_threshold", cats)
    c.image(1)
    want = []
    for j in range(10):
        w = 50.0 + 5 * j
        for cat, ww, ap in ((2 * j + 1, w, (j + 1) / 10), (2 * j + 2, w - JUST_BELOW, j / 10)):
            c.gt(1, cat, [0, 0, 100, 100])
            c.dt(1, cat, [0, 0, ww, 100], 0.9)
            want.append(ap)
    return c, dict(stats=[0.5, 0.95, 0.45, -1, -1, 0.5, 0.5, 0.5, 0.5, -1, -1, 0.5],
                   cat_ap=want)


def case_zero_width():
    """Zero-width / zero-height boxes: intersection 0, never matched.
    GTs: Z [100,100,0,20] (area 0), N1 50x50, N2 50x60. Detections: copy of
    Z (.9), N1 (.8), N2 (.7), a zero-height box (.6).
      all:    FP TP TP FP, 3 GTs -> envelope 2/3 to recall 2/3:
              AP = 67 * 2/3 / 101; AR1 0 (top det is the FP), AR 2/3
      small:  only Z (area 0 is in [0, 32^2]); zero-area dets are FPs there,
              N1/N2 dets hit GTs ignored here -> AP 0, AR 0
      medium: Z ignored; zero-area dets unmatched and out of range -> ignored
              -> AP 1, AR 1"""
    c = Case("zero_width", [(1, "thing")])
    c.image(1)
    Z = c.gt(1, 1, [100, 100, 0, 20])
    N1 = c.gt(1, 1, [200, 200, 50, 50])
    N2 = c.gt(1, 1, [300, 300, 50, 60])
    assert Z["area"] == 0
    c.dt(1, 1, Z["bbox"], 0.9)
    c.dt(1, 1, N1["bbox"], 0.8)
    c.dt(1, 1, N2["bbox"], 0.7)
    c.dt(1, 1, [10, 10, 30, 0], 0.6)
    ap = 67 * (2 / 3) / 101
    return c, dict(stats=[ap, ap, ap, 0.0, 1.0, -1, 0.0, 2 / 3, 2 / 3, 0.0, 1.0, -1], cat_ap=[ap])


def case_iou_tie_between_gts():
    """A detection with exactly equal IoU (2/3) to two GTs goes to the LATER
    one in GT order (pycocotools keeps `iou >= best`).
    GTs (file order) A [0,0,100,100], B [40,0,100,100], C far (medium).
    Detections: d1 [20,0,100,100] (.9, IoU 2/3 with A and B), d2 = A (.8).
      t <= .65 (4 thresholds): d1 -> B, d2 -> A: TP TP -> 67/101
      t >= .7  (6): d1 FP, d2 -> A: FP TP -> n(r <= 1/3) * 1/2 / 101 = 17/101
    (d1 -> A instead would make d2 a FP.)
      large {A, B}: 1 for t <= .65, else FP TP -> 51 * 1/2 / 101
      medium {C}: both detections hit ignored GTs or are out of range -> 0
    AR100 = (4 * 2/3 + 6 * 1/3) / 10 = 7/15, AR1 = 4 * 1/3 / 10 = 2/15,
    ARl = (4 + 6 * 1/2) / 10 = 0.7."""
    c = Case("iou_tie_between_gts", [(1, "thing")])
    c.image(1)
    A = c.gt(1, 1, [0, 0, 100, 100])["bbox"]
    c.gt(1, 1, [40, 0, 100, 100])
    c.gt(1, 1, [400, 400, 50, 50])
    c.dt(1, 1, [20, 0, 100, 100], 0.9)
    c.dt(1, 1, A, 0.8)
    ap = (4 * 67 / 101 + 6 * 17 / 101) / 10
    apl = (4 * 1 + 6 * 25.5 / 101) / 10
    return c, dict(stats=[ap, 67 / 101, 17 / 101, -1, 0.0, apl, 2 / 15, 7 / 15, 7 / 15, -1, 0.0, 0.7],
                   cat_ap=[ap])


def case_recall_threshold_rounding():
    """pycocotools compares recall with recThrs in floating point:
    recThrs[70] = 0.7000000000000001 > 7/10 = 0.7. 10 GTs, detections
    TP x7, FP, TP (2 GTs missed): rc = .1 .. .7, .7, .8; envelope 1 for the
    first 7, then 8/9. r_0..r_69 -> 1; r_70 (just above 0.7) .. r_80 -> 8/9:
    AP = (70 + 11 * 8/9) / 101 (exact arithmetic would give 71 and 10)."""
    c = Case("recall_threshold_rounding", [(1, "thing")])
    c.image(1)
    boxes = [[10 + 60 * i, 50, 40, 40] for i in range(10)]
    for b in boxes:
        c.gt(1, 1, b)
    for k in range(7):
        c.dt(1, 1, boxes[k], round(0.9 - 0.05 * k, 6))
    c.dt(1, 1, [10, 300, 40, 40], 0.5)
    c.dt(1, 1, boxes[7], 0.45)
    assert ref.REC_THRS[70] > 0.7
    ap = (70 + 11 * 8 / 9) / 101
    return c, dict(stats=[ap, ap, ap, -1, ap, -1, 0.1, 0.8, 0.8, -1, 0.8, -1], cat_ap=[ap])


# ----------------------------------------------------------------------------
# random cases


IMAGE_SIZES = [(640, 480), (512, 512), (800, 600), (320, 240), (1024, 768)]


def _q(v, step):
    return round(round(v / step) * step, 6)


def _rand_box(rng, W, H, smin=3.0, smax=400.0):
    side = float(np.exp(rng.uniform(np.log(smin), np.log(min(smax, 0.9 * min(W, H))))))
    aspect = float(np.exp(rng.uniform(np.log(0.4), np.log(2.5))))
    w = min(side * np.sqrt(aspect), W - 1.0)
    h = min(side / np.sqrt(aspect), H - 1.0)
    x = rng.uniform(0, W - w)
    y = rng.uniform(0, H - h)
    return [x, y, w, h]


def case_random(name, seed, n_images, cat_ids, gt_per_image, miss=0.15, fp_per_image=(0, 3),
                crowd_prob=0.03, seg_area_prob=0.5, score_decimals=None, coord_step=0.01,
                empty_image_prob=0.1, confuse_prob=0.05, dup_prob=0.1, dense_image=None,
                cats_without_gt=()):
    """Several images, random GT boxes of varied sizes (log-uniform side
    3..400 px, aspect .4..2.5), some crowd regions, 'area' often smaller than
    w*h (as for segmentation areas); detections = jittered GT copies (jitter
    scale varies so IoUs spread over all thresholds), duplicates, wrong-class
    copies, misses, detections inside crowd regions and random false
    positives; scores random (rounded when score_decimals is set, which makes
    ties). Image ids are sparse and listed unsorted, category ids sparse."""
    rng = np.random.RandomState(seed)
    names = ["cat%d" % k for k in cat_ids]
    c = Case(name, list(zip(cat_ids, names)))
    img_ids = sorted(rng.choice(np.arange(1, 10 * n_images + 1), n_images, replace=False).tolist())
    listed = list(img_ids)
    rng.shuffle(listed)
    gt_cats = [k for k in cat_ids if k not in cats_without_gt]

    def score(hi):
        s = float(rng.beta(5, 2) if hi else rng.beta(1.5, 4))
        return round(s, score_decimals) if score_decimals else s

    def box_q(b):
        return [_q(v, coord_step) for v in b]

    def jitter(b, sigma):
        x, y, w, h = b
        s = max(w, h) * sigma
        nx = x + rng.normal(0, s)
        ny = y + rng.normal(0, s)
        nw = max(w * float(np.exp(rng.normal(0, sigma))), 0.5)
        nh = max(h * float(np.exp(rng.normal(0, sigma))), 0.5)
        return box_q([nx, ny, nw, nh])

    for img in listed:
        W, H = IMAGE_SIZES[rng.randint(len(IMAGE_SIZES))]
        c.image(int(img), W, H)
    sizes = {im["id"]: (im["width"], im["height"]) for im in c.images}
    for img in img_ids:
        W, H = sizes[img]
        n_gt = 0 if rng.uniform() < empty_image_prob else rng.randint(gt_per_image[0], gt_per_image[1] + 1)
        for _ in range(n_gt):
            cat = int(gt_cats[rng.randint(len(gt_cats))])
            crowd = rng.uniform() < crowd_prob
            b = box_q(_rand_box(rng, W, H, smin=40.0 if crowd else 3.0))
            full = b[2] * b[3]
            area = round(full * rng.uniform(0.45, 0.95), 2) if (crowd or rng.uniform() < seg_area_prob) \
                else round(full, 6)
            c.gt(int(img), cat, b, area=area, iscrowd=int(crowd))
            if crowd:
                for _ in range(rng.randint(0, 3)):       # detections inside / across the crowd box
                    x, y, w, h = b
                    dw, dh = w * rng.uniform(0.1, 0.5), h * rng.uniform(0.1, 0.5)
                    dx, dy = x + rng.uniform(-0.3 * dw, w - 0.7 * dw), y + rng.uniform(-0.3 * dh, h - 0.7 * dh)
                    c.dt(int(img), cat, box_q([dx, dy, dw, dh]), score(False))
                continue
            if rng.uniform() < miss:
                continue
            sigma = [0.01, 0.04, 0.08, 0.15, 0.3][rng.randint(5)]
            dcat = cat
            if rng.uniform() < confuse_prob:
                dcat = int(cat_ids[rng.randint(len(cat_ids))])
            c.dt(int(img), dcat, jitter(b, sigma), score(True))
            if rng.uniform() < dup_prob:
                c.dt(int(img), dcat, jitter(b, 0.05), score(False))
        for _ in range(rng.randint(fp_per_image[0], fp_per_image[1] + 1)):
            cat = int(cat_ids[rng.randint(len(cat_ids))])
            c.dt(int(img), cat, box_q(_rand_box(rng, W, H)), score(False))
    if dense_image is not None:
        # one image with many objects of one category and > 100 detections
        img, cat, n_obj, n_det = dense_image
        img = img_ids[img]
        W, H = sizes[img]
        objs = []
        for _ in range(n_obj):
            b = box_q([rng.uniform(0, W - 30), rng.uniform(0, H - 30),
                       rng.uniform(6, 30), rng.uniform(6, 30)])
            c.gt(int(img), cat, b, area=round(b[2] * b[3], 6))
            objs.append(b)
        for k in range(n_det):
            if k < len(objs) and rng.uniform() > miss:
                c.dt(int(img), cat, jitter(objs[k], 0.05), score(True))
            else:
                c.dt(int(img), cat, box_q([rng.uniform(0, W - 30), rng.uniform(0, H - 30),
                                           rng.uniform(6, 30), rng.uniform(6, 30)]), score(False))
    _keep_off_iou_thresholds(c, coord_step)
    # results are written grouped arbitrarily: shuffle them (ties then depend
    # on this file order, which the C side must keep)
    order = rng.permutation(len(c.dts))
    c.dts = [c.dts[k] for k in order]
    return c, None


def _keep_off_iou_thresholds(c, coord_step, margin=1e-9):
    """Random cases test the bulk logic, not rounding at a threshold (the
    hand-built cases do that): move any detection whose IoU with a GT of its
    image / category is within `margin` of an IoU threshold, so that an
    implementation evaluating the IoU formula in a slightly different order
    still takes the same decisions."""
    gts = {}
    for a in c.anns:
        gts.setdefault((a["image_id"], a["category_id"]), []).append(a)
    for d in c.dts:
        g = gts.get((d["image_id"], d["category_id"]))
        if not g:
            continue
        for _ in range(100):
            iou = ref.box_iou_xywh([d["bbox"]], [a["bbox"] for a in g], [a["iscrowd"] for a in g])
            if np.abs(iou.reshape(-1, 1) - ref.IOU_THRS[None, :]).min() >= margin:
                break
            d["bbox"][0] = _q(d["bbox"][0] + coord_step, coord_step)
        else:
            raise AssertionError("could not move a detection off the IoU thresholds")


def cases():
    yield case_perfect()
    yield case_no_detections()
    for r in range(1, 6):
        yield case_fp_rank(r)
    yield case_crowd()
    yield case_ignore_flag()
    yield case_area_boundaries()
    yield case_category_without_gt()
    yield case_detections_on_empty_images()
    yield case_maxdets_truncation()
    yield case_tied_scores()
    yield case_duplicates()
    yield case_iou_threshold()
    yield case_iou_each_threshold()
    yield case_zero_width()
    yield case_iou_tie_between_gts()
    yield case_recall_threshold_rounding()
    yield case_random("random_small", 41, 5, [1, 2, 3], (1, 6))
    yield case_random("random_ties", 12, 12, [2, 5, 9, 11, 17], (0, 8), score_decimals=2,
                      crowd_prob=0.08)
    yield case_random("random_dense", 13, 25, [1, 3, 4, 7, 8, 10, 12, 90], (0, 10),
                      score_decimals=3, cats_without_gt=(12,), dense_image=(3, 7, 110, 140))
    yield case_random("random_large", 14, 200, [1, 2, 3, 5, 8, 13], (2, 11), fp_per_image=(6, 11),
                      score_decimals=3, coord_step=0.1, miss=0.2, dense_image=(17, 1, 60, 130))


def main():
    os.makedirs(OUT, exist_ok=True)
    names = []
    total = 0
    for case, analytic in cases():
        result = ref.evaluate(case.gt_dict(), case.dts)
        if analytic is not None:
            check(case, result, analytic.get("stats"), analytic.get("cat_ap"))
        size = write_case(case, result)
        total += size
        names.append(case.name)
        print("%-28s %3d images %5d gt %5d dt %7d bytes  %s" % (
            case.name, len(case.images), len(case.anns), len(case.dts), size,
            " ".join("%.4f" % v for v in result["stats"])))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print("%d cases, %d bytes, %d hand-derived values checked" % (len(names), total, len(CHECKS)))


if __name__ == "__main__":
    main()
