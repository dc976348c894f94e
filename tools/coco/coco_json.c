/* COCO-format ground truth and results, read and written with cJSON. */
#include "coco_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Largest JSON file read (the COCO 2017 train annotations are ~450 MB). */
#define COCO_MAX_FILE_BYTES ((long)2 << 30)

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static cJSON *parse_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        fail(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    if (len > COCO_MAX_FILE_BYTES) {
        fclose(f);
        fail(err, errlen, "%s: %ld bytes, more than the %ld-byte limit", path, len,
             COCO_MAX_FILE_BYTES);
        return NULL;
    }
    char *text = malloc((size_t)len + 1);
    if (!text) {
        fclose(f);
        fail(err, errlen, "%s: out of memory for %ld bytes", path, len);
        return NULL;
    }
    size_t got = fread(text, 1, (size_t)len, f);
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err || got != (size_t)len) {
        free(text);
        fail(err, errlen, "%s: read error", path);
        return NULL;
    }
    text[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)len, &end, 0);
    if (!root) {
        size_t off = end ? (size_t)(end - text) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off && i < (size_t)len; i++)
            line += text[i] == '\n';
        fail(err, errlen, "%s: invalid JSON near byte %zu (line %zu)", path, off, line);
    }
    free(text);
    return root;
}

/* An integral number within +-2^53. */
static int get_id(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    if (!(fabs(d) <= 9007199254740992.0) || d != floor(d))
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int get_bbox(const cJSON *obj, double b[4])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "bbox");
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 4)
        return -1;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
            return -1;
        b[i++] = e->valuedouble;
    }
    return b[2] >= 0.0 && b[3] >= 0.0 ? 0 : -1;
}

static char *dup_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v) || !v->valuestring)
        return NULL;
    size_t n = strlen(v->valuestring);
    char *s = malloc(n + 1);
    if (s)
        memcpy(s, v->valuestring, n + 1);
    return s;
}

static const cJSON *get_array(const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsArray(v) ? v : NULL;
}

void coco_dataset_free(coco_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->num_images; i++)
        free(ds->images[i].file_name);
    for (size_t i = 0; i < ds->num_categories; i++)
        free(ds->categories[i].name);
    free(ds->images);
    free(ds->categories);
    free(ds->gts);
    free(ds->image_ids);
    free(ds->category_ids);
    memset(ds, 0, sizeof *ds);
}

static int load_images(const char *path, const cJSON *arr, coco_dataset *ds, char *err,
                       size_t errlen)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    ds->images = calloc(n ? n : 1, sizeof *ds->images);
    ds->image_ids = calloc(n ? n : 1, sizeof *ds->image_ids);
    if (!ds->images || !ds->image_ids)
        return fail(err, errlen, "%s: out of memory for %zu images", path, n);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        coco_image *im = &ds->images[i];
        if (!cJSON_IsObject(e) || get_id(e, "id", &im->id) != 0)
            return fail(err, errlen, "%s: images[%zu]: needs an integer \"id\"", path, i);
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(e, "file_name");
        if (fn && !cJSON_IsString(fn))
            return fail(err, errlen, "%s: images[%zu] (id %lld): \"file_name\" is not a string",
                        path, i, (long long)im->id);
        im->file_name = dup_string(e, "file_name");
        if (fn && !im->file_name)
            return fail(err, errlen, "%s: out of memory", path);
        int64_t v;
        if (get_id(e, "width", &v) == 0 && v > 0 && v < (1 << 30))
            im->width = (int)v;
        if (get_id(e, "height", &v) == 0 && v > 0 && v < (1 << 30))
            im->height = (int)v;
        ds->image_ids[i] = im->id;
        ds->num_images = ++i;
    }
    return 0;
}

static int load_categories(const char *path, const cJSON *arr, coco_dataset *ds, char *err,
                           size_t errlen)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    ds->categories = calloc(n ? n : 1, sizeof *ds->categories);
    ds->category_ids = calloc(n ? n : 1, sizeof *ds->category_ids);
    if (!ds->categories || !ds->category_ids)
        return fail(err, errlen, "%s: out of memory for %zu categories", path, n);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        coco_category *c = &ds->categories[i];
        if (!cJSON_IsObject(e) || get_id(e, "id", &c->id) != 0)
            return fail(err, errlen, "%s: categories[%zu]: needs an integer \"id\"", path, i);
        c->name = dup_string(e, "name");
        ds->category_ids[i] = c->id;
        ds->num_categories = ++i;
    }
    return 0;
}

static int load_annotations(const char *path, const cJSON *arr, coco_dataset *ds, char *err,
                            size_t errlen)
{
    size_t n = (size_t)cJSON_GetArraySize(arr), i = 0;
    ds->gts = calloc(n ? n : 1, sizeof *ds->gts);
    if (!ds->gts)
        return fail(err, errlen, "%s: out of memory for %zu annotations", path, n);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        odet_eval_gt *g = &ds->gts[i];
        if (!cJSON_IsObject(e))
            return fail(err, errlen, "%s: annotations[%zu] is not an object", path, i);
        if (get_id(e, "image_id", &g->image_id) != 0 ||
            get_id(e, "category_id", &g->category_id) != 0)
            return fail(err, errlen,
                        "%s: annotations[%zu]: needs integer \"image_id\" and \"category_id\"",
                        path, i);
        if (get_bbox(e, g->bbox) != 0)
            return fail(err, errlen,
                        "%s: annotations[%zu]: \"bbox\" must be [x, y, w, h]: 4 finite numbers, "
                        "w and h >= 0",
                        path, i);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "area");
        if (a) {
            if (!cJSON_IsNumber(a) || !isfinite(a->valuedouble) || a->valuedouble < 0.0)
                return fail(err, errlen,
                            "%s: annotations[%zu]: \"area\" must be a finite number >= 0", path,
                            i);
            g->area = a->valuedouble;
        } else {
            g->area = g->bbox[2] * g->bbox[3];
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "iscrowd");
        if (c) {
            if (!cJSON_IsNumber(c) && !cJSON_IsBool(c))
                return fail(err, errlen, "%s: annotations[%zu]: \"iscrowd\" must be 0 or 1",
                            path, i);
            g->iscrowd = cJSON_IsTrue(c) || (cJSON_IsNumber(c) && c->valuedouble != 0.0);
        }
        ds->num_gts = ++i;
    }
    return 0;
}

int coco_dataset_load(const char *path, coco_dataset *ds, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    cJSON *root = parse_file(path, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    const cJSON *images = get_array(root, "images");
    const cJSON *anns = get_array(root, "annotations");
    const cJSON *cats = get_array(root, "categories");
    if (!cJSON_IsObject(root) || !images || !cats) {
        fail(err, errlen,
             "%s: not a COCO ground-truth file: needs \"images\" and \"categories\" arrays", path);
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "annotations") && !anns) {
        fail(err, errlen, "%s: \"annotations\" is not an array", path);
        goto out;
    }
    if (load_images(path, images, ds, err, errlen) != 0 ||
        load_categories(path, cats, ds, err, errlen) != 0 ||
        (anns && load_annotations(path, anns, ds, err, errlen) != 0))
        goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0)
        coco_dataset_free(ds);
    return rc;
}

const char *coco_category_name(const coco_dataset *ds, int64_t id)
{
    for (size_t i = 0; i < ds->num_categories; i++)
        if (ds->categories[i].id == id)
            return ds->categories[i].name;
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int coco_results_load(const char *path, const coco_dataset *ds, odet_eval_det **dets,
                      size_t *n, char *err, size_t errlen)
{
    *dets = NULL;
    *n = 0;
    cJSON *root = parse_file(path, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    int64_t *ids = NULL;
    if (!cJSON_IsArray(root)) {
        fail(err, errlen, "%s: not a COCO result file: expected a JSON array of detections",
             path);
        goto out;
    }
    size_t cnt = (size_t)cJSON_GetArraySize(root), i = 0;
    odet_eval_det *d = calloc(cnt ? cnt : 1, sizeof *d);
    ids = malloc((ds->num_images ? ds->num_images : 1) * sizeof *ids);
    if (!d || !ids) {
        free(d);
        fail(err, errlen, "%s: out of memory for %zu detections", path, cnt);
        goto out;
    }
    if (ds->num_images)
        memcpy(ids, ds->image_ids, ds->num_images * sizeof *ids);
    qsort(ids, ds->num_images, sizeof *ids, cmp_i64);
    const cJSON *e;
    cJSON_ArrayForEach(e, root)
    {
        odet_eval_det *x = &d[i];
        const cJSON *s = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "score") : NULL;
        if (!cJSON_IsObject(e) || get_id(e, "image_id", &x->image_id) != 0 ||
            get_id(e, "category_id", &x->category_id) != 0 || !cJSON_IsNumber(s) ||
            isnan(s->valuedouble) || get_bbox(e, x->bbox) != 0) {
            free(d);
            fail(err, errlen,
                 "%s: entry %zu: needs integer \"image_id\" and \"category_id\", a numeric "
                 "\"score\" and \"bbox\" [x, y, w, h] (finite, w and h >= 0)",
                 path, i);
            goto out;
        }
        x->score = s->valuedouble;
        if (!bsearch(&x->image_id, ids, ds->num_images, sizeof *ids, cmp_i64)) {
            fail(err, errlen,
                 "%s: entry %zu: image_id %lld is not an image of the annotations file "
                 "(results must belong to the evaluated data set)",
                 path, i, (long long)x->image_id);
            free(d);
            goto out;
        }
        i++;
    }
    *dets = d;
    *n = i;
    rc = 0;
out:
    free(ids);
    cJSON_Delete(root);
    return rc;
}

int coco_results_write(FILE *f, const odet_eval_det *dets, size_t n)
{
    int bad = fputs("[", f) < 0;
    for (size_t i = 0; i < n && !bad; i++) {
        const odet_eval_det *d = &dets[i];
        bad = fprintf(f,
                      "%s\n{\"image_id\": %lld, \"category_id\": %lld, \"bbox\": [%.17g, %.17g, "
                      "%.17g, %.17g], \"score\": %.17g}",
                      i ? "," : "", (long long)d->image_id, (long long)d->category_id,
                      d->bbox[0], d->bbox[1], d->bbox[2], d->bbox[3], d->score) < 0;
    }
    if (!bad)
        bad = fputs("\n]\n", f) < 0;
    return bad ? -1 : 0;
}

void coco_eval_input(const coco_dataset *ds, const odet_eval_det *dets, size_t n,
                     odet_eval_input *in)
{
    memset(in, 0, sizeof *in);
    in->image_ids = ds->image_ids;
    in->num_images = ds->num_images;
    in->category_ids = ds->category_ids;
    in->num_categories = ds->num_categories;
    in->gts = ds->gts;
    in->num_gts = ds->num_gts;
    in->dets = dets;
    in->num_dets = n;
}
