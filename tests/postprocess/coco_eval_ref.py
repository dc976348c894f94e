#!/usr/bin/python3
"""Reference COCO detection evaluation (bounding boxes), in numpy.

This module follows the protocol of pycocotools' COCOeval with
iouType='bbox', useCats=1 and the default Params, and is meant to give the
same numbers as

    gt = COCO(gt_file); dt = gt.loadRes(dt_file)
    E = COCOeval(gt, dt, 'bbox'); E.evaluate(); E.accumulate(); E.summarize()

It is an independent re-implementation of that protocol (pycocotools is
not needed), written so that every floating-point decision is taken the
same way as in pycocotools:

Parameters
    iouThrs = np.linspace(.5, .95, 10), recThrs = np.linspace(.0, 1.00, 101)
    (exactly those expressions: e.g. iouThrs[8] is 0.8999999999999999 and
    recThrs[70] is 0.7000000000000001), maxDets [1, 10, 100], area ranges
    all [0, 1e5**2], small [0, 32**2], medium [32**2, 96**2],
    large [96**2, 1e5**2] (both ends inclusive). imgIds are the sorted image
    ids of the GT file, catIds its sorted category ids.

Loading (COCO.loadRes for bbox results)
    Result k (0-based, file order) gets id k+1, iscrowd 0 and area = w*h.
    A result whose image id is not a GT image id is an error (as in
    loadRes); results whose category is not a GT category are dropped, and
    so are GT annotations whose image or category is not listed. GT 'area'
    is read from the annotation, never recomputed.
    GT ignore = iscrowd. NOTE: pycocotools' COCOeval._prepare first copies
    ann.get('ignore', 0) and then overwrites it with iscrowd, so an 'ignore'
    field in the GT file has no effect. That is what this module does by
    default; evaluate(..., honor_ignore_field=True) gives the variant
    ignore = ann.get('ignore', 0) or iscrowd instead (NOT pycocotools).
    pycocotools' loadRes fails on an empty result list; here an empty list
    means "no detections" (what COCOeval gives for a result set without
    annotations).

IoU (maskUtils.iou on xywh boxes)
    For each image/category, detections are sorted by score, descending,
    with a stable sort (ties keep file order) and cut to maxDets[-1]; then
    iou[d, g] = inter / union with inter = w*h, w = min(dx+dw, gx+gw) -
    max(dx, gx), h likewise, 0 when w <= 0 or h <= 0, and
    union = (d_area + g_area) - inter, or union = d_area when g is a crowd
    region. Box areas here are w*h of the boxes, not the 'area' fields.

Per-image matching (COCOeval.evaluateImg), for each area range
    gt ignored if ignore, or area < lo, or area > hi; gts reordered with the
    non-ignored first (stable). For each IoU threshold t, detections in
    score order take the best still-free gt (crowd gts never become busy)
    with iou >= min(t, 1-1e-10); among equal IoUs the LATER gt wins; once a
    non-ignored gt is held the search stops at the first ignored gt. A
    detection matched to an ignored gt is ignored; an unmatched detection
    whose area (w*h) is outside the range is ignored. (As in pycocotools a
    match is recorded as the gt's id, so a gt with id 0 would count as
    "unmatched"; GT ids should be nonzero.)

Accumulation (COCOeval.accumulate), per category / area / maxDet
    Per-image detection lists (each cut to maxDet) are concatenated in imgId
    order and stably sorted by descending score; cumulative TP / FP counts
    over non-ignored detections give rc = tp / npig and
    pr = tp / (fp + tp + np.spacing(1)); recall = rc[-1] (0 without
    detections); precision is made non-increasing from the right and
    sampled at np.searchsorted(rc, recThrs, side='left'), 0 past the end.
    A category with npig == 0 (no non-ignored gt in that area range) is
    skipped and keeps precision = recall = -1.

Summary (COCOeval.summarize)
    The 12 standard numbers: AP, AP50, AP75, APs, APm, APl (maxDets 100),
    AR1, AR10, AR100, ARs, ARm, ARl: each the mean of the entries > -1 of
    the selected precision / recall slice, or -1 if there are none.
    Per-category AP is the same mean over precision[:, :, k, all, 100].

Usage:
    from coco_eval_ref import evaluate
    r = evaluate(gt_dict, results_list)  # r['stats'], r['category_ap'], ...
or  /usr/bin/python3 coco_eval_ref.py gt.json dt.json
"""
import json
import sys

import numpy as np

IOU_THRS = np.linspace(.5, .95, 10)
REC_THRS = np.linspace(.0, 1.00, 101)
MAX_DETS = (1, 10, 100)
AREA_RNG = ((0 ** 2, 1e5 ** 2), (0 ** 2, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e5 ** 2))
AREA_LBL = ("all", "small", "medium", "large")

STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


# ----------------------------------------------------------------------------
# loading


def load_results(gt, results):
    """COCO.loadRes for bbox results: returns new detection dicts with
    id (1-based index), area = w*h and iscrowd = 0."""
    if not isinstance(results, list):
        raise ValueError("results must be a list of objects")
    img_ids = {im["id"] for im in gt["images"]}
    dts = []
    for k, r in enumerate(results):
        if r["image_id"] not in img_ids:
            raise ValueError("result %d: image_id %r is not a GT image" % (k, r["image_id"]))
        bb = r["bbox"]
        if len(bb) != 4:
            raise ValueError("result %d: bbox must be [x, y, w, h]" % k)
        dts.append({
            "id": k + 1,
            "image_id": r["image_id"],
            "category_id": r["category_id"],
            "bbox": [float(v) for v in bb],
            "score": float(r["score"]),
            "area": bb[2] * bb[3],
            "iscrowd": 0,
        })
    return dts


def box_iou_xywh(dt_boxes, gt_boxes, gt_crowd):
    """IoU matrix [D, G] of xywh boxes with maskUtils.iou (bbIou) semantics:
    for a crowd gt the union is the detection's own area."""
    d = np.asarray(dt_boxes, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    crowd = np.asarray(gt_crowd, dtype=bool).reshape(-1)
    w = (np.minimum(d[:, None, 2] + d[:, None, 0], g[None, :, 2] + g[None, :, 0])
         - np.maximum(d[:, None, 0], g[None, :, 0]))
    h = (np.minimum(d[:, None, 3] + d[:, None, 1], g[None, :, 3] + g[None, :, 1])
         - np.maximum(d[:, None, 1], g[None, :, 1]))
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    d_area = (d[:, 2] * d[:, 3])[:, None]
    g_area = (g[:, 2] * g[:, 3])[None, :]
    union = np.where(crowd[None, :], d_area, (d_area + g_area) - inter)
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=overlap)
    return out


class _Cell:
    """The GT and (sorted, truncated) detections of one image / category."""

    def __init__(self, gts, dts, honor_ignore_field):
        self.gt_ids = np.array([g["id"] for g in gts], dtype=np.float64)
        self.gt_boxes = np.array([g["bbox"] for g in gts], dtype=np.float64).reshape(-1, 4)
        self.gt_area = np.array([g["area"] for g in gts], dtype=np.float64)
        self.gt_crowd = np.array([bool(g.get("iscrowd", 0)) for g in gts], dtype=bool)
        ignore = self.gt_crowd.copy()
        if honor_ignore_field:
            ignore |= np.array([bool(g.get("ignore", 0)) for g in gts], dtype=bool)
        self.gt_ignore = ignore

        scores = np.array([d["score"] for d in dts], dtype=np.float64)
        order = np.argsort(-scores, kind="mergesort")[:MAX_DETS[-1]]
        self.dt_scores = scores[order]
        self.dt_boxes = np.array([dts[i]["bbox"] for i in order], dtype=np.float64).reshape(-1, 4)
        self.dt_area = np.array([dts[i]["area"] for i in order], dtype=np.float64)
        if len(gts) and len(order):
            self.ious = box_iou_xywh(self.dt_boxes, self.gt_boxes, self.gt_crowd)
        else:
            self.ious = None


def _prepare(gt, results, honor_ignore_field):
    img_ids = sorted({im["id"] for im in gt["images"]})
    cat_ids = sorted({c["id"] for c in gt["categories"]})
    img_set, cat_set = set(img_ids), set(cat_ids)
    seen = set()
    gts, dts = {}, {}
    for ann in gt["annotations"]:
        if ann["id"] in seen:
            raise ValueError("duplicate GT annotation id %r" % ann["id"])
        seen.add(ann["id"])
        if ann["image_id"] in img_set and ann["category_id"] in cat_set:
            gts.setdefault((ann["image_id"], ann["category_id"]), []).append(ann)
    for det in load_results(gt, results):
        if det["category_id"] in cat_set:
            dts.setdefault((det["image_id"], det["category_id"]), []).append(det)
    cells = {}
    for key in set(gts) | set(dts):
        cells[key] = _Cell(gts.get(key, []), dts.get(key, []), honor_ignore_field)
    return img_ids, cat_ids, cells


# ----------------------------------------------------------------------------
# per image / category / area range


class _ImageResult:
    __slots__ = ("scores", "matched", "ignored", "n_pos")


def _evaluate_image(cell, area_rng, max_det):
    lo, hi = area_rng
    g_ign = cell.gt_ignore | (cell.gt_area < lo) | (cell.gt_area > hi)
    # non-ignored gts first, each group in its original order
    gorder = np.concatenate([np.flatnonzero(~g_ign), np.flatnonzero(g_ign)])
    ign = g_ign[gorder]
    crowd = cell.gt_crowd[gorder]
    gids = cell.gt_ids[gorder]
    n_det = min(len(cell.dt_scores), max_det)
    n_gt = len(gorder)
    n_thr = len(IOU_THRS)

    match_id = np.zeros((n_thr, n_det))          # id of the matched gt, 0 = none
    d_ign = np.zeros((n_thr, n_det), dtype=bool)
    if cell.ious is not None:
        iou = cell.ious[:n_det][:, gorder].tolist()
        ign_l, crowd_l, gids_l = ign.tolist(), crowd.tolist(), gids.tolist()
        for ti, thr in enumerate(IOU_THRS.tolist()):
            busy = [False] * n_gt
            floor = min(thr, 1 - 1e-10)
            for di in range(n_det):
                row = iou[di]
                best, m = floor, -1
                for gi in range(n_gt):
                    if busy[gi] and not crowd_l[gi]:
                        continue
                    if m >= 0 and not ign_l[m] and ign_l[gi]:
                        break
                    if row[gi] < best:
                        continue
                    best, m = row[gi], gi
                if m >= 0:
                    busy[m] = True
                    d_ign[ti, di] = ign_l[m]
                    match_id[ti, di] = gids_l[m]
    d_area = cell.dt_area[:n_det]
    outside = (d_area < lo) | (d_area > hi)
    unmatched = match_id == 0
    d_ign |= unmatched & outside[None, :]

    res = _ImageResult()
    res.scores = cell.dt_scores[:n_det]
    res.matched = ~unmatched
    res.ignored = d_ign
    res.n_pos = int(np.count_nonzero(~g_ign))
    return res


# ----------------------------------------------------------------------------
# accumulation and summary


def _accumulate(per_image, n_cat, n_img):
    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), n_cat, len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k in range(K):
        for a in range(A):
            E = [per_image[k, a, i] for i in range(n_img) if (k, a, i) in per_image]
            if not E:
                continue
            n_pos = sum(e.n_pos for e in E)
            if n_pos == 0:
                continue
            for m, max_det in enumerate(MAX_DETS):
                scores = np.concatenate([e.scores[:max_det] for e in E])
                order = np.argsort(-scores, kind="mergesort")
                matched = np.concatenate([e.matched[:, :max_det] for e in E], axis=1)[:, order]
                ignored = np.concatenate([e.ignored[:, :max_det] for e in E], axis=1)[:, order]
                tp = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
                fp = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)
                nd = tp.shape[1]
                for t in range(T):
                    rc = tp[t] / n_pos
                    pr = tp[t] / (fp[t] + tp[t] + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if nd else 0.0
                    envelope = np.maximum.accumulate(pr[::-1])[::-1]
                    idx = np.searchsorted(rc, REC_THRS, side="left")
                    q = np.zeros(R)
                    ok = idx < nd
                    q[ok] = envelope[idx[ok]]
                    precision[t, :, k, a, m] = q
    return precision, recall


def _mean_defined(s):
    v = s[s > -1]
    return float(np.mean(v)) if v.size else -1.0


def _thr_index(value):
    idx = np.flatnonzero(IOU_THRS == value)
    if idx.size != 1:
        raise AssertionError("IoU threshold %r not in iouThrs" % value)
    return idx


def _summarize(precision, recall):
    a_all, a_s, a_m, a_l = 0, 1, 2, 3
    m100 = MAX_DETS.index(100)
    stats = [
        _mean_defined(precision[:, :, :, a_all, m100]),
        _mean_defined(precision[_thr_index(.5)][:, :, :, a_all, m100]),
        _mean_defined(precision[_thr_index(.75)][:, :, :, a_all, m100]),
        _mean_defined(precision[:, :, :, a_s, m100]),
        _mean_defined(precision[:, :, :, a_m, m100]),
        _mean_defined(precision[:, :, :, a_l, m100]),
        _mean_defined(recall[:, :, a_all, MAX_DETS.index(1)]),
        _mean_defined(recall[:, :, a_all, MAX_DETS.index(10)]),
        _mean_defined(recall[:, :, a_all, m100]),
        _mean_defined(recall[:, :, a_s, m100]),
        _mean_defined(recall[:, :, a_m, m100]),
        _mean_defined(recall[:, :, a_l, m100]),
    ]
    return stats


def evaluate(gt, results, honor_ignore_field=False):
    """Evaluate bbox results against a COCO GT dict.

    gt: the GT file's dict (images, annotations, categories).
    results: the result file's list of {image_id, category_id, bbox, score}.
    honor_ignore_field: False = pycocotools (GT 'ignore' field has no effect).

    Returns a dict with
      stats        list of 12 floats (STAT_NAMES order), -1 where undefined
      category_ids sorted GT category ids
      category_ap  AP@[.5:.95] (area all, maxDets 100) per category, -1 if
                   the category has no non-ignored GT
      precision    [T, R, K, A, M] array, recall [T, K, A, M] array
    """
    img_ids, cat_ids, cells = _prepare(gt, results, honor_ignore_field)
    img_index = {v: i for i, v in enumerate(img_ids)}
    cat_index = {v: k for k, v in enumerate(cat_ids)}
    per_image = {}
    for (img, cat), cell in cells.items():
        k, i = cat_index[cat], img_index[img]
        for a, rng in enumerate(AREA_RNG):
            per_image[k, a, i] = _evaluate_image(cell, rng, MAX_DETS[-1])
    precision, recall = _accumulate(per_image, len(cat_ids), len(img_ids))
    stats = _summarize(precision, recall)
    m100 = MAX_DETS.index(100)
    cat_ap = [_mean_defined(precision[:, :, k, 0, m100]) for k in range(len(cat_ids))]
    return {
        "stats": stats,
        "category_ids": list(cat_ids),
        "category_ap": cat_ap,
        "precision": precision,
        "recall": recall,
    }


def format_stats(stats):
    lines = []
    iou_all = "%0.2f:%0.2f" % (IOU_THRS[0], IOU_THRS[-1])
    spec = [(1, iou_all, "all", 100), (1, "0.50", "all", 100), (1, "0.75", "all", 100),
            (1, iou_all, "small", 100), (1, iou_all, "medium", 100), (1, iou_all, "large", 100),
            (0, iou_all, "all", 1), (0, iou_all, "all", 10), (0, iou_all, "all", 100),
            (0, iou_all, "small", 100), (0, iou_all, "medium", 100), (0, iou_all, "large", 100)]
    for (ap, iou, area, md), v in zip(spec, stats):
        lines.append(" %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f" % (
            "Average Precision" if ap else "Average Recall", "(AP)" if ap else "(AR)",
            iou, area, md, v))
    return "\n".join(lines)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: %s gt.json dt.json\n" % argv[0])
        return 2
    with open(argv[1]) as f:
        gt = json.load(f)
    with open(argv[2]) as f:
        dt = json.load(f)
    r = evaluate(gt, dt)
    print(format_stats(r["stats"]))
    for c, ap in zip(r["category_ids"], r["category_ap"]):
        print(" category %s: AP %r" % (c, ap))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
