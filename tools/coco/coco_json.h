/* COCO-format JSON for the evaluation tools: ground-truth files
 * (images / annotations / categories) and result files (a list of
 * {image_id, category_id, bbox, score}), read and written with cJSON.
 * Errors name the file and the offending entry. */
#ifndef ODET_TOOLS_COCO_JSON_H
#define ODET_TOOLS_COCO_JSON_H

#include <stdio.h>

#include "odet/postprocess/eval.h"

typedef struct coco_image {
    int64_t id;
    char *file_name; /* NULL when absent */
    int width, height; /* 0 when absent */
} coco_image;

typedef struct coco_category {
    int64_t id;
    char *name; /* NULL when absent */
} coco_category;

/** A ground-truth file. Annotations without `area` get w * h; without
 *  `iscrowd`, 0. */
typedef struct coco_dataset {
    coco_image *images;
    size_t num_images;
    coco_category *categories;
    size_t num_categories;
    odet_eval_gt *gts;
    size_t num_gts;
    int64_t *image_ids;    /* [num_images], for odet_eval_input */
    int64_t *category_ids; /* [num_categories] */
} coco_dataset;

/** Read a ground-truth file. Returns 0, or -1 with a message in err. */
int coco_dataset_load(const char *path, coco_dataset *ds, char *err, size_t errlen);

void coco_dataset_free(coco_dataset *ds);

/** Name of the category with this id, or NULL (no such category, no name). */
const char *coco_category_name(const coco_dataset *ds, int64_t id);

/** Read a result file; every image_id must be an image of ds (as
 *  pycocotools' loadRes requires). *dets is malloc'ed. Returns 0, or -1
 *  with a message in err. */
int coco_results_load(const char *path, const coco_dataset *ds, odet_eval_det **dets,
                      size_t *n, char *err, size_t errlen);

/** Write detections as a COCO result list (numbers round-trip exactly).
 *  Returns 0, or -1 on a write error. */
int coco_results_write(FILE *f, const odet_eval_det *dets, size_t n);

/** Fill an odet_eval_input from a data set and detections. */
void coco_eval_input(const coco_dataset *ds, const odet_eval_det *dets, size_t n,
                     odet_eval_input *in);

#endif
