/* odet images: loading, writing and preprocessing into network tensors.
 *
 * An odet_image is a borrowed view of interleaved 8-bit pixels with a row
 * stride, so camera buffers (BGR, BGRA, padded rows) are used as they are.
 * Files are decoded with stb_image into an owned odet_image_buf (always RGB).
 *
 * Preprocessing writes float NCHW tensors [1, 3, H, W] into caller memory.
 * Each geometric step reproduces the reference pipeline the detectors were
 * trained with, bit for bit on the 8-bit pixels:
 *   odet_warp_affine_bilinear_cv()  cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT)
 *   odet_resize_bilinear_cv()       cv2.resize(INTER_LINEAR)
 *   odet_resize_bilinear_pil()      PIL Image.resize(BILINEAR) (antialiased)
 * odet_preprocess_plan() / odet_preprocess_run() combine them as CenterNet,
 * mmdet (VFNet), DETR and letterbox pipelines do, and report the affine
 * transform image -> tensor so that decoders map boxes back with its inverse.
 *
 * Every fallible function returns an odet_status and, when `err` is not NULL,
 * writes a one-line message naming the file or parameter at fault into
 * err[0..errlen). Nothing here prints, exits, or allocates in per-pixel loops.
 */
#ifndef ODET_IMAGE_H
#define ODET_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "odet/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Image views                                                               */
/* ------------------------------------------------------------------------ */

/** Largest accepted width or height, in pixels. */
#define ODET_IMAGE_MAX_SIDE 16384
/** Largest accepted width * height (2^28 pixels). */
#define ODET_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

/** Layout of one pixel: interleaved 8-bit channels. Alpha is ignored by
 *  every preprocessing step (as cv2 / PIL convert("RGB") drop it); GRAY is
 *  replicated into three channels. */
typedef enum odet_pixel_format {
    ODET_PIXEL_RGB = 0,
    ODET_PIXEL_BGR,
    ODET_PIXEL_RGBA,
    ODET_PIXEL_BGRA,
    ODET_PIXEL_GRAY
} odet_pixel_format;

/** Bytes per pixel of a format (3, 3, 4, 4, 1); 0 for an invalid value. */
int odet_pixel_format_bytes(odet_pixel_format f);
/** "RGB", "BGR", "RGBA", "BGRA", "GRAY" or "invalid". */
const char *odet_pixel_format_name(odet_pixel_format f);

/** A borrowed image: row y starts at data + y * stride, pixel x of that row
 *  at + x * odet_pixel_format_bytes(format). The view does not own data. */
typedef struct odet_image {
    int width, height;
    size_t stride;  /**< bytes per row, >= width * bytes per pixel */
    odet_pixel_format format;
    const uint8_t *data;
} odet_image;

/** Validate a view: data not NULL, known format, 1 <= width, height <=
 *  ODET_IMAGE_MAX_SIDE, width * height <= ODET_IMAGE_MAX_PIXELS and stride
 *  large enough. ODET_ERR_INVALID_ARG or ODET_ERR_LIMIT otherwise. */
odet_status odet_image_check(const odet_image *img, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Owned images: files and memory                                            */
/* ------------------------------------------------------------------------ */

/** An owned, contiguous image (stride = width * bytes per pixel). */
typedef struct odet_image_buf odet_image_buf;

/** Decode an image file (PNG, JPEG, BMP, GIF first frame, TGA, PNM, PSD, HDR)
 *  into 8-bit RGB. Grayscale is replicated, alpha is dropped (not blended),
 *  16-bit channels keep their high byte. Before decoding, the header is read
 *  and sizes above ODET_IMAGE_MAX_SIDE per side or ODET_IMAGE_MAX_PIXELS in
 *  total are refused with ODET_ERR_LIMIT; PNG chunk structure and the JPEG
 *  end-of-image marker are checked so truncated files fail with
 *  ODET_ERR_PARSE instead of decoding to partly grey images.
 *  Errors: ODET_ERR_IO (missing / unreadable file), ODET_ERR_PARSE (empty,
 *  not an image, truncated, corrupt), ODET_ERR_LIMIT, ODET_ERR_NOMEM.
 *  The message names the file. */
odet_status odet_image_load(const char *path, odet_image_buf **out, char *err, size_t errlen);

/** As odet_image_load() for an encoded image in memory. `name` (may be NULL)
 *  is used in error messages. The buffer may be freed after the call. */
odet_status odet_image_load_memory(const void *data, size_t len, const char *name,
                                   odet_image_buf **out, char *err, size_t errlen);

/** A zero-filled owned image of the given size and format. */
odet_status odet_image_buf_create(int width, int height, odet_pixel_format format,
                                  odet_image_buf **out, char *err, size_t errlen);

/** Free an owned image. NULL is a no-op. */
void odet_image_buf_free(odet_image_buf *b);

/** View of an owned image, valid until odet_image_buf_free(). */
const odet_image *odet_image_buf_view(const odet_image_buf *b);

/** Writable pixels of an owned image (row stride = view->stride). */
uint8_t *odet_image_buf_pixels(odet_image_buf *b);

/** Encode an image to a file chosen by extension: ".png", or ".jpg" /
 *  ".jpeg" (quality 95), case-insensitive. Any pixel format and stride;
 *  colour images are written as RGB (alpha is dropped), GRAY as grayscale.
 *  ODET_ERR_INVALID_ARG for another extension, ODET_ERR_IO when the file
 *  cannot be written. */
odet_status odet_image_write(const char *path, const odet_image *img, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Affine transforms (2x3, OpenCV layout)                                    */
/* ------------------------------------------------------------------------ */

/* A transform m maps (x, y) to (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]);
 * the layout is that of cv2 and of odet_affine in odet/postprocess/box.h. */

/** CenterNet's get_affine_transform(center, scale, rot, (out_w, out_h),
 *  inv=inverse) from utils/image.py, shift 0: the three points are built in
 *  float32 exactly as the NumPy code does, then solved as
 *  cv2.getAffineTransform does (6x6 system, double). With inverse = 0 the
 *  transform maps the image into the out_w x out_h network input; with
 *  inverse = 1 it maps back. `scale` is CenterNet's s (both components equal
 *  when s is a scalar). ODET_ERR_INVALID_ARG for non-finite or degenerate
 *  input (zero scale or output size). */
odet_status odet_centernet_affine(const float center[2], const float scale[2], double rot_deg,
                                  int out_w, int out_h, int inverse, double m[6]);

/** Inverse transform; ODET_ERR_INVALID_ARG if m is singular or not finite.
 *  Computed as cv2.invertAffineTransform does. */
odet_status odet_xform_invert(const double m[6], double inv[6]);

/** Apply a transform to one point. */
void odet_xform_apply(const double m[6], double x, double y, double *ox, double *oy);

/* ------------------------------------------------------------------------ */
/* Tensor destinations and normalisation                                     */
/* ------------------------------------------------------------------------ */

/** Channel order of the output tensor. */
typedef enum odet_channel_order {
    ODET_CHANNELS_RGB = 0,
    ODET_CHANNELS_BGR
} odet_channel_order;

/** How 8-bit pixels become tensor values, per tensor channel c:
 *      out = (pixel / divisor - mean[c]) / std[c]
 *  computed in double and rounded once to float.
 *  - divisor = 255: mean/std on the [0, 1] scale (torchvision ToTensor +
 *    Normalize, CenterNet, the odet.mean / odet.std model metadata);
 *  - divisor = 1:   mean/std on the 0..255 scale (mmdet / mmcv imnormalize).
 *  mean and std are listed in the tensor's channel order (`order`). */
typedef struct odet_normalize {
    odet_channel_order order;
    float divisor;  /**< > 0 */
    float mean[3];
    float std[3];   /**< each != 0 */
} odet_normalize;

/** RGB order, divisor 1, mean 0, std 1: the tensor holds raw pixel values. */
void odet_normalize_identity(odet_normalize *n);

/** Where a preprocessing step writes: a float tensor [1, 3, height, width]
 *  (three planes of width * height floats) and the top-left (x, y) of the
 *  window the step fills. */
typedef struct odet_chw_window {
    float *data;
    int width, height;  /**< plane size */
    int x, y;           /**< origin of the written window */
} odet_chw_window;

/** Copy an image as is (no geometry) into the window: HWC uint8 -> CHW float
 *  with channel reordering and normalisation. */
odet_status odet_image_to_chw(const odet_image *img, const odet_normalize *norm,
                              const odet_chw_window *dst, char *err, size_t errlen);

/** Fill a w x h rectangle of the window with one value per tensor channel. */
odet_status odet_chw_fill(const odet_chw_window *dst, int w, int h, const float value[3],
                          char *err, size_t errlen);

/** cv2.warpAffine(img, m, (out_w, out_h), flags=INTER_LINEAR,
 *  borderMode=BORDER_CONSTANT, borderValue=border) with OpenCV's fixed-point
 *  arithmetic (INTER_BITS = 5, INTER_REMAP_COEF_BITS = 15): identical 8-bit
 *  results. m maps image -> output (it is inverted internally as OpenCV
 *  does). border is an RGB pixel value; NULL means black. Needs no scratch. */
odet_status odet_warp_affine_bilinear_cv(const odet_image *img, const double m[6],
                                         int out_w, int out_h, const uint8_t border[3],
                                         const odet_normalize *norm,
                                         const odet_chw_window *dst, char *err,
                                         size_t errlen);

/** Scratch bytes odet_resize_bilinear_cv() needs for an output width. */
size_t odet_resize_bilinear_cv_scratch(int out_w);

/** cv2.resize(img, (out_w, out_h), interpolation=INTER_LINEAR): half-pixel
 *  centres, no antialiasing, OpenCV's 11-bit fixed-point weights; identical
 *  8-bit results. */
odet_status odet_resize_bilinear_cv(const odet_image *img, int out_w, int out_h,
                                    const odet_normalize *norm, const odet_chw_window *dst,
                                    void *scratch, size_t scratch_bytes, char *err,
                                    size_t errlen);

/** Scratch bytes odet_resize_bilinear_pil() needs (0 for invalid sizes). */
size_t odet_resize_bilinear_pil_scratch(int in_w, int in_h, int out_w, int out_h);

/** PIL Image.resize((out_w, out_h), Image.BILINEAR): separable triangle
 *  filter whose support grows with the downscale factor (antialiasing),
 *  PIL's 22-bit fixed-point coefficients and 8-bit intermediate rows;
 *  identical 8-bit results. */
odet_status odet_resize_bilinear_pil(const odet_image *img, int out_w, int out_h,
                                     const odet_normalize *norm, const odet_chw_window *dst,
                                     void *scratch, size_t scratch_bytes, char *err,
                                     size_t errlen);

/* ------------------------------------------------------------------------ */
/* Output-size rules                                                         */
/* ------------------------------------------------------------------------ */

/** mmcv.rescale_size((w, h), (max_long, max_short)) as used by mmcv.imrescale
 *  and mmdet Resize(keep_ratio=True): s = min(max_long / long side,
 *  max_short / short side), new size = (int(w * s + 0.5), int(h * s + 0.5)).
 *  The scale tuple may be given in either order. */
odet_status odet_size_keep_ratio_mmcv(int w, int h, int max_long, int max_short, int *out_w,
                                      int *out_h);

/** DETR's get_size_with_aspect_ratio (datasets/transforms.py): shorter side
 *  `size`, longer side at most `max_size` (0 = no limit), with its rounding
 *  and truncation. */
odet_status odet_size_shorter_side_detr(int w, int h, int size, int max_size, int *out_w,
                                        int *out_h);

/* ------------------------------------------------------------------------ */
/* Whole preprocessing pipelines                                             */
/* ------------------------------------------------------------------------ */

/** Geometric method. */
typedef enum odet_preprocess_method {
    /** CenterNet: cv2.warpAffine with get_affine_transform(c, s, 0, (W, H)).
     *  Default (fix_res): tensor target_width x target_height, c = (w/2, h/2),
     *  s = max(w, h). With ODET_PRE_CENTERNET_KEEP_RES: tensor
     *  ((w | (d-1)) + 1) x ((h | (d-1)) + 1) with d = size_divisor (a power of
     *  two, default 32), c = (w // 2, h // 2), s = (W, H). */
    ODET_PRE_AFFINE_CENTERNET = 0,
    /** mmdet Resize(img_scale=(max_size, short_side), keep_ratio=True):
     *  odet_size_keep_ratio_mmcv() + cv2.resize bilinear. */
    ODET_PRE_RESIZE_KEEP_RATIO_CV,
    /** DETR / torchvision T.Resize(short_side, max_size) on a PIL image:
     *  odet_size_shorter_side_detr() + PIL bilinear (antialiased). */
    ODET_PRE_RESIZE_SHORTER_SIDE_PIL,
    /** Keep ratio into target_width x target_height: gain = min(W/w, H/h),
     *  content = (round(w*gain), round(h*gain)) by cv2.resize bilinear, the
     *  rest filled with `border`; centred as YOLO's letterbox (offsets
     *  round(d/2 - 0.1)) unless ODET_PRE_TOP_LEFT. */
    ODET_PRE_LETTERBOX,
    /** cv2.resize bilinear to exactly target_width x target_height. */
    ODET_PRE_FIXED_RESIZE
} odet_preprocess_method;

/** Flags of odet_preprocess_params. */
#define ODET_PRE_TOP_LEFT 1u            /**< letterbox: content at (0, 0) */
#define ODET_PRE_NO_UPSCALE 2u          /**< letterbox: gain at most 1 */
#define ODET_PRE_CENTERNET_KEEP_RES 4u  /**< affine: CenterNet --keep_res sizing */

/** One descriptor for every pipeline. Fill with odet_preprocess_params_init()
 *  and set what the model needs (model adapters fill it from ONNX metadata).
 *
 *  Tensor size: the method gives the content size (cw, ch); the tensor is
 *  (cw, ch) rounded up to a multiple of size_divisor (mmdet Pad
 *  size_divisor), then enlarged to pad_width x pad_height when set (a fixed
 *  network input). Padding is at the bottom / right and holds pad_value
 *  (a tensor value, after normalisation, as mmdet pads the normalised
 *  image). Areas inside the method's own output that no image pixel reaches
 *  (warp border, letterbox bars) hold the pixel `border`, normalised. */
typedef struct odet_preprocess_params {
    odet_preprocess_method method;
    int target_width, target_height;  /**< AFFINE_CENTERNET, LETTERBOX, FIXED_RESIZE */
    int short_side;    /**< RESIZE_*: shorter-side size (mmdet: the short edge of img_scale) */
    int max_size;      /**< RESIZE_*: longer-side limit; required for KEEP_RATIO_CV, 0 = none for PIL */
    int size_divisor;  /**< 0 or 1 = none; see also ODET_PRE_CENTERNET_KEEP_RES */
    int pad_width, pad_height;  /**< fixed tensor size, 0 = none; content must fit */
    float pad_value;   /**< tensor value of the bottom / right padding */
    uint8_t border[3]; /**< RGB pixel outside the image (warp border, letterbox bars) */
    unsigned flags;    /**< ODET_PRE_* */
    odet_normalize norm;
} odet_preprocess_params;

/** Defaults: the given method, identity normalisation, no padding, border 0,
 *  everything else 0. */
void odet_preprocess_params_init(odet_preprocess_params *p, odet_preprocess_method method);

/** What a pipeline does to an image of a given size. */
typedef struct odet_preprocess_layout {
    int image_width, image_height;    /**< the input image */
    int tensor_width, tensor_height;  /**< the output tensor [1, 3, H, W] */
    int content_x, content_y;         /**< where the resized image starts */
    int content_width, content_height;/**< resized image size (AFFINE: the warp output) */
    /** Image -> tensor coordinates (apply odet_xform_invert() to map boxes
     *  back). AFFINE_CENTERNET: the warp matrix itself (pixel-index
     *  coordinates, as CenterNet maps its boxes). Resize methods: scale
     *  content_width / image_width, content_height / image_height plus the
     *  content offset (corner coordinates, as mmdet's scale_factor and DETR's
     *  ratios). */
    double transform[6];
    float center[2], scale[2];  /**< AFFINE_CENTERNET: c and s used, for the decoder */
    size_t tensor_floats;       /**< 3 * tensor_width * tensor_height */
    size_t scratch_bytes;       /**< scratch odet_preprocess_run() needs */
} odet_preprocess_layout;

/** Compute the layout for an image_width x image_height image. Invalid or
 *  inconsistent parameters: ODET_ERR_INVALID_ARG naming the field; content
 *  larger than pad_width x pad_height: ODET_ERR_SHAPE; tensor above
 *  ODET_IMAGE_MAX_SIDE: ODET_ERR_LIMIT. */
odet_status odet_preprocess_plan(const odet_preprocess_params *p, int image_width,
                                 int image_height, odet_preprocess_layout *layout, char *err,
                                 size_t errlen);

/** Run the pipeline: out receives the [1, 3, H, W] tensor (out_floats >=
 *  layout.tensor_floats), scratch must hold layout.scratch_bytes (may be NULL
 *  when that is 0). `layout` (may be NULL) receives the same layout as
 *  odet_preprocess_plan(). No allocation. */
odet_status odet_preprocess_run(const odet_preprocess_params *p, const odet_image *img,
                                float *out, size_t out_floats, void *scratch,
                                size_t scratch_bytes, odet_preprocess_layout *layout,
                                char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
