/* detect-eval: run a detector over a COCO-format data set and score it with
 * the COCO protocol (odet/postprocess/eval.h), or score an existing COCO
 * result file. Prints the standard 12-line summary in pycocotools' wording.
 * A thin front end of odet/detector.h and the evaluator. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "coco/coco_json.h"
#include "odet/detector.h"
#include "odet/postprocess/eval.h"

#ifndef ODET_DEFAULT_MODEL
#define ODET_DEFAULT_MODEL ""
#endif

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };
enum { MAP_AUTO, MAP_NAME, MAP_INDEX };

typedef struct args {
    const char *model, *images, *annotations, *results_out, *score_file, *summary_json;
    double score_threshold;
    long max_detections, threads, jobs, limit;
    int map, per_class, quiet, progress; /* progress: -1 auto */
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: detect-eval --model FILE --images DIR --annotations FILE [options]\n"
            "       detect-eval --annotations FILE --score RESULTS.json [options]\n"
            "Run a detector over a COCO-format data set and print the COCO summary\n"
            "(AP@[.5:.95], AP50, AP75, AP small/medium/large, AR@1/10/100, AR s/m/l),\n"
            "worded as pycocotools prints it. With --score, evaluate an existing COCO\n"
            "result file instead of running a model.\n"
            "\n"
            "options:\n"
            "  -m, --model FILE         detector (default: $ODET_MODEL, else %s)\n"
            "  -i, --images DIR         image directory; images[].file_name is relative to it\n"
            "  -a, --annotations FILE   COCO ground truth (images, annotations, categories)\n"
            "      --score FILE         COCO result file to evaluate (no model is run)\n"
            "  -r, --results FILE       also write the detections as a COCO result file\n"
            "      --summary-json FILE  also write the 12 numbers and per-category AP as JSON\n"
            "  -t, --threshold T        keep detections with score >= T (default 0.001)\n"
            "      --max-detections N   per image (default 100)\n"
            "      --threads N          engine threads per job (default: all CPUs)\n"
            "  -j, --jobs N             images detected in parallel, one context each\n"
            "                           (default 1; results do not depend on it)\n"
            "      --limit N            only the first N images of the file\n"
            "      --category-map M     model class -> category: 'name' (class names equal\n"
            "                           category names), 'index' (class i -> i-th category\n"
            "                           by ascending id), 'auto' (name if every class name\n"
            "                           is a category, else index; default)\n"
            "      --per-class          also print AP, AP50 and AP75 per category\n"
            "      --progress / --no-progress  progress bar on stderr (default: if a terminal)\n"
            "  -q, --quiet              only the summary on stdout\n"
            "  -h, --help               this help\n"
            "\n"
            "Exit status: 0 done, 1 an image, file or detection failed (reported on stderr;\n"
            "nothing is scored), 2 usage or model error.\n",
            ODET_DEFAULT_MODEL[0] ? ODET_DEFAULT_MODEL : "the built-in default model");
}

static double now_s(void)
{
    return cli_now_ms() / 1e3;
}


static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->score_threshold = 0.001;
    a->max_detections = 100;
    a->limit = -1;
    a->jobs = 1;
    a->progress = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define IS(s, l) (!strcmp(o, s) || !strcmp(o, l))
#define NEED()                                                                  \
    do {                                                                        \
        if (!v) {                                                               \
            fprintf(stderr, "detect-eval: %s needs a value\n", o);              \
            return -1;                                                          \
        }                                                                       \
        i++;                                                                    \
    } while (0)
        if (IS("-h", "--help")) {
            usage(stdout);
            exit(0);
        } else if (IS("-m", "--model")) {
            NEED();
            a->model = v;
        } else if (IS("-i", "--images")) {
            NEED();
            a->images = v;
        } else if (IS("-a", "--annotations")) {
            NEED();
            a->annotations = v;
        } else if (IS("--score", "--score")) {
            NEED();
            a->score_file = v;
        } else if (IS("-r", "--results")) {
            NEED();
            a->results_out = v;
        } else if (IS("--summary-json", "--summary-json")) {
            NEED();
            a->summary_json = v;
        } else if (IS("-t", "--threshold")) {
            NEED();
            if (cli_parse_unit(v, &a->score_threshold) != 0) {
                fprintf(stderr, "detect-eval: --threshold '%s' must be a number in [0, 1]\n", v);
                return -1;
            }
        } else if (IS("--max-detections", "--max-detections")) {
            NEED();
            if (cli_parse_long(v, 1, 100000, &a->max_detections)) {
                fprintf(stderr, "detect-eval: --max-detections '%s' must be in 1..100000\n", v);
                return -1;
            }
        } else if (IS("--threads", "--threads")) {
            NEED();
            if (cli_parse_long(v, 0, 1024, &a->threads)) {
                fprintf(stderr, "detect-eval: --threads '%s' must be in 0..1024\n", v);
                return -1;
            }
        } else if (IS("-j", "--jobs")) {
            NEED();
            if (cli_parse_long(v, 1, 256, &a->jobs)) {
                fprintf(stderr, "detect-eval: --jobs '%s' must be in 1..256\n", v);
                return -1;
            }
        } else if (IS("--limit", "--limit")) {
            NEED();
            if (cli_parse_long(v, 0, 1L << 30, &a->limit)) {
                fprintf(stderr, "detect-eval: --limit '%s' must be a count >= 0\n", v);
                return -1;
            }
        } else if (IS("--category-map", "--category-map")) {
            NEED();
            if (!strcmp(v, "auto"))
                a->map = MAP_AUTO;
            else if (!strcmp(v, "name"))
                a->map = MAP_NAME;
            else if (!strcmp(v, "index"))
                a->map = MAP_INDEX;
            else {
                fprintf(stderr, "detect-eval: --category-map '%s': use auto, name or index\n", v);
                return -1;
            }
        } else if (IS("--per-class", "--per-class")) {
            a->per_class = 1;
        } else if (IS("--progress", "--progress")) {
            a->progress = 1;
        } else if (IS("--no-progress", "--no-progress")) {
            a->progress = 0;
        } else if (IS("-q", "--quiet")) {
            a->quiet = 1;
        } else {
            fprintf(stderr, "detect-eval: unknown option '%s' (see --help)\n", o);
            return -1;
        }
#undef IS
#undef NEED
    }
    if (!a->annotations) {
        fprintf(stderr, "detect-eval: --annotations is required (see --help)\n");
        return -1;
    }
    if (a->score_file && (a->images || a->model || a->results_out)) {
        fprintf(stderr, "detect-eval: --score evaluates a result file: no --model, --images or "
                        "--results with it\n");
        return -1;
    }
    if (!a->score_file && !a->images) {
        fprintf(stderr, "detect-eval: give --images DIR (or --score RESULTS.json)\n");
        return -1;
    }
    if (!a->model && !a->score_file) {
        const char *env = getenv("ODET_MODEL");
        a->model = env && env[0] ? env : ODET_DEFAULT_MODEL;
        if (!a->model[0]) {
            fprintf(stderr, "detect-eval: no model: give --model FILE\n");
            return -1;
        }
    }
    return 0;
}

/* ---- class -> category mapping ---- */

static int cmp_cat(const void *a, const void *b)
{
    int64_t x = ((const coco_category *)a)->id, y = ((const coco_category *)b)->id;
    return (x > y) - (x < y);
}

/* map[c] = category id of model class c. */
static int make_category_map(const odet_detector *det, const coco_dataset *ds, int mode,
                             int64_t *map, const char **how)
{
    size_t nc = odet_detector_class_count(det), nk = ds->num_categories;
    size_t found = 0;
    for (size_t c = 0; c < nc; c++) {
        const char *name = odet_detector_class_name(det, (int)c);
        map[c] = INT64_MIN;
        for (size_t k = 0; k < nk && name; k++)
            if (ds->categories[k].name && !strcmp(ds->categories[k].name, name)) {
                map[c] = ds->categories[k].id;
                found++;
                break;
            }
    }
    if (mode == MAP_NAME || (mode == MAP_AUTO && found == nc)) {
        if (found != nc) {
            for (size_t c = 0; c < nc; c++)
                if (map[c] == INT64_MIN)
                    fprintf(stderr,
                            "detect-eval: --category-map name: model class %zu '%s' is not a "
                            "category name of the annotations\n",
                            c, odet_detector_class_name(det, (int)c));
            return -1;
        }
        *how = "by name";
        return 0;
    }
    coco_category *sorted = malloc((nk ? nk : 1) * sizeof *sorted);
    if (!sorted)
        return -1;
    if (nk)
        memcpy(sorted, ds->categories, nk * sizeof *sorted);
    qsort(sorted, nk, sizeof *sorted, cmp_cat);
    if (nk < nc) {
        fprintf(stderr,
                "detect-eval: the model predicts %zu classes but the annotations have %zu "
                "categories, and the class names do not match the category names (%zu of %zu "
                "found); cannot map classes to categories\n",
                nc, nk, found, nc);
        free(sorted);
        return -1;
    }
    for (size_t c = 0; c < nc; c++)
        map[c] = sorted[c].id;
    free(sorted);
    *how = "by index (class i -> i-th category by id)";
    return 0;
}

/* ---- progress ---- */

static void progress(size_t done, size_t total, double t0, int final)
{
    const int width = 30;
    double el = now_s() - t0, rate = el > 0 ? (double)done / el : 0.0;
    int fill = total ? (int)((double)width * (double)done / (double)total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    fprintf(stderr, "\r[%s] %zu/%zu images  %.1f img/s  ETA %d:%02d ", bar, done, total, rate,
            (int)eta / 60, (int)eta % 60);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* ---- running the model ---- */

/* Detections of one image, filled by whichever worker ran it. */
typedef struct image_dets {
    odet_eval_det *d;
    size_t n;
} image_dets;

typedef struct run_state {
    const args *a;
    const coco_dataset *ds;
    odet_detector *det;
    const int64_t *map;
    size_t n;
    image_dets *per_image;
    atomic_size_t next, done;
    atomic_int failed;
    double infer_s; /* summed over workers, under lock */
    pthread_mutex_t lock;
    char err[1024]; /* first failure */
} run_state;

static void set_error(run_state *st, const char *fmt, ...)
{
    pthread_mutex_lock(&st->lock);
    if (!atomic_load(&st->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->err, sizeof st->err, fmt, ap);
        va_end(ap);
        atomic_store(&st->failed, 1);
    }
    pthread_mutex_unlock(&st->lock);
}

/* Detect on image i with context ctx; 0 on success. */
static int run_image(run_state *st, odet_detector_context *ctx, size_t i, double *infer_s)
{
    const coco_image *im = &st->ds->images[i];
    char err[1024];
    if (!im->file_name) {
        set_error(st, "%s: image id %lld has no file_name", st->a->annotations,
                  (long long)im->id);
        return -1;
    }
    size_t plen = strlen(st->a->images) + strlen(im->file_name) + 2;
    char *path = malloc(plen);
    if (!path) {
        set_error(st, "out of memory");
        return -1;
    }
    snprintf(path, plen, "%s/%s", st->a->images, im->file_name);
    odet_image_buf *buf = NULL;
    odet_results res;
    res.count = 0;
    int rc = 0;
    if (odet_image_load(path, &buf, err, sizeof err) != ODET_OK) {
        set_error(st, "%s", err);
        rc = -1;
    } else {
        const odet_image *view = odet_image_buf_view(buf);
        if (im->width && im->height && (view->width != im->width || view->height != im->height))
        {
            pthread_mutex_lock(&st->lock);
            fprintf(stderr, "\ndetect-eval: warning: %s is %dx%d but %s says %dx%d\n", path,
                    view->width, view->height, st->a->annotations, im->width, im->height);
            pthread_mutex_unlock(&st->lock);
        }
        double t = now_s();
        if (odet_detect_ctx(ctx, view, &res, err, sizeof err) != ODET_OK) {
            set_error(st, "%s: %s", path, err);
            rc = -1;
        }
        *infer_s += now_s() - t;
    }
    image_dets *out = &st->per_image[i];
    if (rc == 0 && res.count) {
        out->d = malloc(res.count * sizeof *out->d);
        if (!out->d) {
            set_error(st, "out of memory");
            rc = -1;
        }
    }
    for (size_t j = 0; rc == 0 && j < res.count; j++) {
        const odet_object *ob = &res.objects[j];
        odet_eval_det *d = &out->d[j];
        d->image_id = im->id;
        d->category_id = st->map[ob->class_id];
        d->bbox[0] = ob->box.x1;
        d->bbox[1] = ob->box.y1;
        d->bbox[2] = (double)ob->box.x2 - (double)ob->box.x1;
        d->bbox[3] = (double)ob->box.y2 - (double)ob->box.y1;
        if (d->bbox[2] < 0.0)
            d->bbox[2] = 0.0;
        if (d->bbox[3] < 0.0)
            d->bbox[3] = 0.0;
        d->score = ob->score;
        out->n = j + 1;
    }
    odet_image_buf_free(buf);
    free(path);
    return rc;
}

typedef struct worker {
    run_state *st;
    odet_detector_context *ctx;
    pthread_t tid;
    int started;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    run_state *st = w->st;
    double infer = 0.0;
    for (;;) {
        size_t i = atomic_fetch_add(&st->next, 1);
        if (i >= st->n || atomic_load(&st->failed))
            break;
        if (run_image(st, w->ctx, i, &infer) != 0)
            break;
        atomic_fetch_add(&st->done, 1);
    }
    pthread_mutex_lock(&st->lock);
    st->infer_s += infer;
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

static int run_model(const args *a, const coco_dataset *ds, odet_eval_det **out, size_t *nout,
                     size_t *nimages)
{
    char err[1024];
    odet_detector_options o;
    odet_detector_options_init(&o);
    o.score_threshold = (float)a->score_threshold;
    o.max_detections = (size_t)a->max_detections;
    o.threads = (int)a->threads;
    odet_detector *det = NULL;
    if (odet_detector_load(a->model, &o, &det, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "detect-eval: %s\n", err);
        return EXIT_USAGE;
    }
    size_t nc = odet_detector_class_count(det);
    int64_t *map = malloc((nc ? nc : 1) * sizeof *map);
    const char *how = "";
    if (!map || make_category_map(det, ds, a->map, map, &how) != 0) {
        free(map);
        odet_detector_free(det);
        return EXIT_USAGE;
    }
    run_state st;
    memset(&st, 0, sizeof st);
    st.a = a;
    st.ds = ds;
    st.det = det;
    st.map = map;
    st.n = ds->num_images;
    if (a->limit >= 0 && (size_t)a->limit < st.n)
        st.n = (size_t)a->limit;
    atomic_init(&st.next, 0);
    atomic_init(&st.done, 0);
    atomic_init(&st.failed, 0);
    pthread_mutex_init(&st.lock, NULL);
    st.per_image = calloc(st.n ? st.n : 1, sizeof *st.per_image);
    size_t jobs = (size_t)a->jobs;
    if (jobs > st.n)
        jobs = st.n ? st.n : 1;
    worker *w = calloc(jobs, sizeof *w);
    int show = a->progress < 0 ? (!a->quiet && isatty(STDERR_FILENO)) : a->progress;
    int rc = st.per_image && w ? 0 : EXIT_FAIL;
    if (rc)
        fprintf(stderr, "detect-eval: out of memory\n");
    if (!a->quiet && rc == 0)
        fprintf(stderr, "detect-eval: %s on %zu images of %s (classes mapped %s, %zu job%s)\n",
                a->model, st.n, a->annotations, how, jobs, jobs == 1 ? "" : "s");
    double t0 = now_s();
    for (size_t j = 0; rc == 0 && j < jobs; j++) {
        w[j].st = &st;
        if (odet_detector_context_create(det, &w[j].ctx, err, sizeof err) != ODET_OK) {
            fprintf(stderr, "detect-eval: %s\n", err);
            rc = EXIT_FAIL;
            atomic_store(&st.failed, 1);
        } else if (pthread_create(&w[j].tid, NULL, worker_main, &w[j]) != 0) {
            fprintf(stderr, "detect-eval: cannot start a worker thread\n");
            rc = EXIT_FAIL;
            atomic_store(&st.failed, 1);
        } else {
            w[j].started = 1;
        }
    }
    /* wait, drawing the progress bar */
    for (;;) {
        size_t d = atomic_load(&st.done);
        int fin = d >= st.n || atomic_load(&st.failed);
        if (show && rc == 0)
            progress(d, st.n, t0, fin);
        if (fin)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t j = 0; w && j < jobs; j++) {
        if (w[j].started)
            pthread_join(w[j].tid, NULL);
        odet_detector_context_free(w[j].ctx);
    }
    if (rc == 0 && atomic_load(&st.failed)) {
        fprintf(stderr, "detect-eval: %s\n", st.err);
        rc = EXIT_FAIL;
    }
    /* gather in image order: the same result for any number of jobs */
    size_t cnt = 0;
    odet_eval_det *dets = NULL;
    for (size_t i = 0; rc == 0 && i < st.n; i++)
        cnt += st.per_image[i].n;
    if (rc == 0) {
        dets = malloc((cnt ? cnt : 1) * sizeof *dets);
        if (!dets) {
            fprintf(stderr, "detect-eval: out of memory for %zu detections\n", cnt);
            rc = EXIT_FAIL;
        }
    }
    for (size_t i = 0, k = 0; rc == 0 && i < st.n; i++) {
        if (st.per_image[i].n)
            memcpy(dets + k, st.per_image[i].d, st.per_image[i].n * sizeof *dets);
        k += st.per_image[i].n;
    }
    if (rc == 0 && !a->quiet)
        fprintf(stderr, "detect-eval: %zu detections, %.1f ms per image (detection %.1f ms)\n",
                cnt, st.n ? (now_s() - t0) * 1e3 / (double)st.n : 0.0,
                st.n ? st.infer_s * 1e3 / (double)st.n : 0.0);
    for (size_t i = 0; st.per_image && i < st.n; i++)
        free(st.per_image[i].d);
    free(st.per_image);
    free(w);
    pthread_mutex_destroy(&st.lock);
    free(map);
    odet_detector_free(det);
    if (rc != 0) {
        free(dets);
        return rc;
    }
    *out = dets;
    *nout = cnt;
    *nimages = st.n;
    return 0;
}

static void print_per_class(const odet_eval_result *r, const coco_dataset *ds)
{
    printf("\n%-20s %8s %8s %8s\n", "category", "AP", "AP50", "AP75");
    int md = r->params.max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    for (size_t k = 0; k < r->num_categories; k++) {
        const char *name = coco_category_name(ds, r->category_ids[k]);
        char id[32];
        snprintf(id, sizeof id, "%lld", (long long)r->category_ids[k]);
        printf("%-20s %8.3f %8.3f %8.3f\n", name ? name : id,
               odet_eval_summarize(r, 1, -1.0, ODET_EVAL_AREA_ALL, md, (long)k),
               odet_eval_summarize(r, 1, 0.5, ODET_EVAL_AREA_ALL, md, (long)k),
               odet_eval_summarize(r, 1, 0.75, ODET_EVAL_AREA_ALL, md, (long)k));
    }
}

static const char *const STAT_KEYS[ODET_EVAL_NUM_STATS] = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

/* {"images", "detections", "stats": {AP..ARl}, "categories": [{id, name, AP, AP50, AP75}]} */
static int write_summary_json(const char *path, const odet_eval_result *r, const coco_dataset *ds,
                              size_t ndets)
{
    cJSON *root = cJSON_CreateObject(), *stats = cJSON_CreateObject();
    cJSON *cats = cJSON_CreateArray();
    int md = r->params.max_dets[ODET_EVAL_NUM_MAX_DETS - 1];
    int ok = root && stats && cats;
    if (ok) {
        cJSON_AddNumberToObject(root, "images", (double)r->num_images);
        cJSON_AddNumberToObject(root, "detections", (double)ndets);
        for (int i = 0; i < ODET_EVAL_NUM_STATS; i++)
            cJSON_AddNumberToObject(stats, STAT_KEYS[i], r->stats[i]);
        cJSON_AddItemToObject(root, "stats", stats);
        cJSON_AddItemToObject(root, "categories", cats);
        stats = cats = NULL;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "categories");
        for (size_t k = 0; k < r->num_categories; k++) {
            cJSON *c = cJSON_CreateObject();
            if (!c) {
                ok = 0;
                break;
            }
            cJSON_AddNumberToObject(c, "id", (double)r->category_ids[k]);
            const char *name = coco_category_name(ds, r->category_ids[k]);
            if (name)
                cJSON_AddStringToObject(c, "name", name);
            cJSON_AddNumberToObject(
                c, "AP", odet_eval_summarize(r, 1, -1.0, ODET_EVAL_AREA_ALL, md, (long)k));
            cJSON_AddNumberToObject(
                c, "AP50", odet_eval_summarize(r, 1, 0.5, ODET_EVAL_AREA_ALL, md, (long)k));
            cJSON_AddNumberToObject(
                c, "AP75", odet_eval_summarize(r, 1, 0.75, ODET_EVAL_AREA_ALL, md, (long)k));
            cJSON_AddItemToArray(arr, c);
        }
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    cJSON_Delete(stats);
    cJSON_Delete(cats);
    if (!text) {
        fprintf(stderr, "detect-eval: out of memory writing %s\n", path);
        return -1;
    }
    FILE *f = fopen(path, "w");
    int bad = !f || fputs(text, f) < 0 || fputc('\n', f) < 0;
    if (f && fclose(f) != 0)
        bad = 1;
    free(text);
    if (bad) {
        fprintf(stderr, "detect-eval: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_USAGE;
    char err[1024];
    coco_dataset ds;
    if (coco_dataset_load(a.annotations, &ds, err, sizeof err) != 0) {
        fprintf(stderr, "detect-eval: %s\n", err);
        return EXIT_FAIL;
    }
    odet_eval_det *dets = NULL;
    size_t ndets = 0, nimages = ds.num_images;
    int rc = 0;
    if (a.score_file) {
        if (coco_results_load(a.score_file, &ds, &dets, &ndets, err, sizeof err) != 0) {
            fprintf(stderr, "detect-eval: %s\n", err);
            rc = EXIT_FAIL;
        }
    } else {
        rc = run_model(&a, &ds, &dets, &ndets, &nimages);
    }
    if (rc == 0 && a.results_out) {
        FILE *f = fopen(a.results_out, "w");
        if (!f || coco_results_write(f, dets, ndets) != 0 || fclose(f) != 0) {
            fprintf(stderr, "detect-eval: cannot write %s: %s\n", a.results_out, strerror(errno));
            rc = EXIT_FAIL;
        }
    }
    if (rc == 0) {
        odet_eval_input in;
        coco_eval_input(&ds, dets, ndets, &in);
        if (nimages < ds.num_images)
            in.num_images = nimages; /* --limit: evaluate the images that ran */
        odet_eval_result *r = NULL;
        int st = odet_eval_coco(&in, NULL, &r);
        if (st != ODET_PP_OK) {
            fprintf(stderr, "detect-eval: evaluation failed: %s\n", odet_pp_status_str(st));
            rc = EXIT_FAIL;
        } else {
            char line[256];
            for (int i = 0; i < ODET_EVAL_NUM_STATS; i++) {
                odet_eval_summary_line(r, i, line, sizeof line);
                puts(line);
            }
            if (a.per_class)
                print_per_class(r, &ds);
            if (a.summary_json && write_summary_json(a.summary_json, r, &ds, ndets) != 0)
                rc = EXIT_FAIL;
            odet_eval_result_destroy(r);
        }
    }
    free(dets);
    coco_dataset_free(&ds);
    return rc;
}
