/* odet postprocess: box formats, clipping and geometric rescaling.
 *
 * Box arrays are n x 4 floats, row-major. odet_box has the same layout as
 * float[4] (x1, y1, x2, y2), so an odet_box array may be passed where a
 * float array in ODET_BOX_XYXY format is expected and vice versa.
 * Every function accepts out == in (in-place). NaN coordinates propagate
 * (they are not rejected). All functions return ODET_PP_OK or an error code.
 */
#ifndef ODET_POSTPROCESS_BOX_H
#define ODET_POSTPROCESS_BOX_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Box encodings, as torchvision.ops.box_convert names them. */
typedef enum odet_box_format {
    ODET_BOX_XYXY = 0,  /**< x1, y1, x2, y2 (corners) */
    ODET_BOX_XYWH,      /**< x1, y1, w, h (COCO) */
    ODET_BOX_CXCYWH     /**< cx, cy, w, h (DETR, YOLO) */
} odet_box_format;

/** Convert n boxes between formats with torchvision's arithmetic
 *  (cxcywh -> xyxy: x1 = cx - 0.5 * w; xyxy -> cxcywh: cx = (x1 + x2) / 2). */
int odet_boxes_convert(const float *in, size_t n, odet_box_format in_fmt,
                       odet_box_format out_fmt, float *out);
/** Shorthands for the two conversions detectors need most. */
int odet_boxes_cxcywh_to_xyxy(const float *cxcywh, size_t n, odet_box *out);
int odet_boxes_xyxy_to_cxcywh(const odet_box *boxes, size_t n, float *cxcywh);

/** Normalized [0, 1] coordinates -> pixels: x *= img_w, y *= img_h.
 *  img_w and img_h must be finite and > 0. */
int odet_boxes_to_pixels(const odet_box *in, size_t n, float img_w, float img_h, odet_box *out);
/** Pixels -> normalized: x /= img_w, y /= img_h. img_w, img_h finite and > 0. */
int odet_boxes_to_normalized(const odet_box *in, size_t n, float img_w, float img_h,
                             odet_box *out);

/** Clamp x to [0, img_w] and y to [0, img_h], as torchvision's
 *  clip_boxes_to_image. img_w, img_h must be finite and >= 0. */
int odet_boxes_clip(const odet_box *in, size_t n, float img_w, float img_h, odet_box *out);

/** Area (x2 - x1) * (y2 - y1) as torchvision's box_area: negative for an
 *  inverted box, computed in double and rounded. */
float odet_box_area(const odet_box *b);

/** Indices of the boxes whose width and height are both >= min_size
 *  (torchvision.ops.remove_small_boxes). idx must hold n entries;
 *  *n_out receives the count. */
int odet_boxes_min_size(const odet_box *boxes, size_t n, float min_size, size_t *idx,
                        size_t *n_out);

/** FCOS / VFNet / ATSS decoding: points (n x 2: x, y) and distances
 *  (n x 4: left, top, right, bottom) -> boxes (px - l, py - t, px + r, py + b).
 *  When max_w > 0 and max_h > 0 the result is clamped to [0, max_w] x [0, max_h]
 *  (mmdet's distance2bbox with max_shape); pass 0, 0 for no clamping. */
int odet_distance_to_boxes(const float *points, const float *ltrb, size_t n, float max_w,
                           float max_h, odet_box *out);

/** torchvision's batched_nms "coordinate trick": shift every box by
 *  class * (max coordinate + 1) so that a class-agnostic NMS never mixes
 *  classes. Only needed to feed an external class-agnostic NMS; odet_nms()
 *  groups by class exactly and does not need (or use) it, because the large
 *  offsets cost float precision in the IoU. Classes must be >= 0. */
int odet_boxes_offset_by_class(const odet_box *in, const int32_t *classes, size_t n,
                               odet_box *out);

/* ---- Network input -> original image ---- */

/** Letterbox geometry: forward x' = x * scale_x + pad_x, y' = y * scale_y + pad_y
 *  maps original-image pixels to network-input pixels. */
typedef struct odet_letterbox {
    double scale_x, scale_y, pad_x, pad_y;
} odet_letterbox;

enum {
    /** Never enlarge (ultralytics scaleup=False): gain = min(gain, 1). */
    ODET_LETTERBOX_NO_UPSCALE = 1u << 0,
    /** Image placed at the top-left corner (pad 0) instead of centred. */
    ODET_LETTERBOX_TOP_LEFT = 1u << 1,
    /** Use the integer geometry the resize really produced: resized size
     *  round(src * gain), left/top pad round(pad - 0.1), as ultralytics'
     *  letterbox() places pixels (round = half to even, like Python).
     *  Without this flag pad = (dst - src * gain) / 2 exactly, as its
     *  scale_boxes() assumes. */
    ODET_LETTERBOX_INTEGER = 1u << 2
};

/** Letterbox that fits a src_w x src_h image into dst_w x dst_h keeping the
 *  aspect ratio (gain = min(dst_w / src_w, dst_h / src_h)). All sizes must be
 *  finite and > 0. */
int odet_letterbox_compute(float src_w, float src_h, float dst_w, float dst_h, unsigned flags,
                           odet_letterbox *lb);
/** Map boxes from network-input pixels back to the original image:
 *  x = (x' - pad_x) / scale_x. Scales must be non-zero. Clip afterwards with
 *  odet_boxes_clip() if wanted. */
int odet_boxes_unletterbox(const odet_box *in, size_t n, const odet_letterbox *lb,
                           odet_box *out);

/** 2x3 affine map, OpenCV layout: x' = m[0] x + m[1] y + m[2],
 *  y' = m[3] x + m[4] y + m[5]. */
typedef struct odet_affine {
    double m[6];
} odet_affine;

/** Inverse map. ODET_PP_ERR_PARAM if the map is singular or not finite. */
int odet_affine_invert(const odet_affine *a, odet_affine *inv);
/** CenterNet's get_affine_transform(center, scale, rot = 0, (dst_w, dst_h)):
 *  the map that takes the src_size-wide square around (cx, cy) onto a
 *  dst_w x dst_h image, x' = k (x - cx) + dst_w / 2, y' = k (y - cy) + dst_h / 2
 *  with k = dst_w / src_size. Invert it to map detections back. */
int odet_affine_center_scale(float cx, float cy, float src_size, float dst_w, float dst_h,
                             odet_affine *a);
/** Apply an affine map to boxes. Without rotation or shear (m[1] = m[3] = 0)
 *  the two corners are mapped, as CenterNet's transform_preds does, and
 *  swapped under a flip so that proper boxes stay proper (degenerate boxes
 *  stay degenerate). Otherwise the result is the axis-aligned bounding box of
 *  the four mapped corners. */
int odet_boxes_affine(const odet_box *in, size_t n, const odet_affine *a, odet_box *out);

#ifdef __cplusplus
}
#endif

#endif
