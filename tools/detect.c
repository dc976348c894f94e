/* detect [options] IMAGE|DIR|- ...
 * Runs an ONNX detector (CenterNet, DETR, VFNet) on images and prints the
 * detections, as text or JSON Lines, optionally drawing them. A thin front
 * end of odet/detector.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "draw.h"
#include "odet/detector.h"

#ifndef ODET_DEFAULT_MODEL
#define ODET_DEFAULT_MODEL ""
#endif
#ifndef ODET_DEFAULT_MODEL_INSTALLED
#define ODET_DEFAULT_MODEL_INSTALLED ""
#endif

enum { EXIT_FILES = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: detect [options] IMAGE|DIR|- ...\n"
            "Detect objects in images with an ONNX detector (CenterNet, DETR, VFNet).\n"
            "A DIR stands for the image files inside it (sorted by name); '-' reads\n"
            "one path per line from standard input.\n"
            "\n"
            "options:\n"
            "  -m, --model FILE        detector (default: $ODET_MODEL, else the default model\n"
            "                          %s)\n"
            "      --arch NAME         centernet, detr or vfnet (default: the model's odet.arch)\n"
            "  -t, --threshold T       score threshold in [0, 1] (default: the model's)\n"
            "      --max-detections N  at most N detections per image (default: the model's)\n"
            "      --nms-iou T         VFNet NMS IoU threshold (default: the model's, 0.6)\n"
            "      --threads N         engine threads (default: all CPUs)\n"
            "      --clip              clamp boxes to the image\n"
            "      --json              JSON Lines on stdout, one object per image\n"
            "  -o, --out FILE|DIR      draw the detections: FILE (.png, .jpg) for one image,\n"
            "                          else a directory (created) with one file per image\n"
            "  -v, --verbose           model settings and per-image timings on stderr\n"
            "  -h, --help              this help\n"
            "\n"
            "Text output: 'FILE: N detections (WxH)', then '  CLASS SCORE [x1 y1 x2 y2]'\n"
            "per detection, in image pixels. Exit status: 0 all images processed, 1 some\n"
            "input could not be read or processed (reported on stderr), 2 usage or model\n"
            "error.\n",
            ODET_DEFAULT_MODEL[0] ? ODET_DEFAULT_MODEL : "(none built in)");
}

/* ------------------------------------------------------------------------ */
/* Small utilities                                                           */
/* ------------------------------------------------------------------------ */


static int file_exists(const char *p)
{
    struct stat sb;
    return p && p[0] && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static const char *extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot : "";
}

static int is_image_name(const char *name)
{
    static const char *const exts[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga",
                                       ".pnm", ".ppm",  ".pgm", ".psd", ".hdr", NULL};
    const char *e = extension(name);
    for (int i = 0; exts[i]; i++)
        if (strcasecmp(e, exts[i]) == 0)
            return 1;
    return 0;
}

static int is_writable_ext(const char *path)
{
    const char *e = extension(path);
    return strcasecmp(e, ".png") == 0 || strcasecmp(e, ".jpg") == 0 ||
           strcasecmp(e, ".jpeg") == 0;
}


static int parse_unit(const char *s, float *out)
{
    double v;
    if (cli_parse_unit(s, &v) != 0)
        return -1;
    *out = (float)v;
    return 0;
}

/* A growable list of owned strings. */
typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

static int strlist_add(strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -1;
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Image files of a directory, sorted by name; -1 if it cannot be read. */
static int add_dir(strlist *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t first = l->n;
    size_t dl = strlen(dir);
    int slash = dl && dir[dl - 1] == '/';
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        size_t len = dl + 1 + strlen(e->d_name);
        char *p = malloc(len + 1);
        if (!p) {
            rc = -2;
            break;
        }
        snprintf(p, len + 1, "%s%s%s", dir, slash ? "" : "/", e->d_name);
        if (is_dir(p)) {
            free(p);
            continue;
        }
        int r = strlist_add(l, p, strlen(p));
        free(p);
        if (r) {
            rc = -2;
            break;
        }
    }
    closedir(d);
    qsort(l->v + first, l->n - first, sizeof *l->v, cmp_str);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* JSON output                                                               */
/* ------------------------------------------------------------------------ */

/* Length of a valid UTF-8 sequence at s (1..4), or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * invalid UTF-8 bytes replaced by U+FFFD. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default: fprintf(f, "\\u%04x", c);
            }
            p++;
        } else {
            int n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", f);
                p++;
            } else {
                fwrite(p, 1, (size_t)n, f);
                p += n;
            }
        }
    }
    fputc('"', f);
}

static void json_number(FILE *f, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
}

static void print_json(FILE *f, const char *file, const odet_results *r, double decode_ms)
{
    fputs("{\"file\":", f);
    json_string(f, file);
    fprintf(f, ",\"width\":%d,\"height\":%d,\"detections\":[", r->image_width,
            r->image_height);
    for (size_t i = 0; i < r->count; i++) {
        const odet_object *o = &r->objects[i];
        fputs(i ? ",{\"class\":" : "{\"class\":", f);
        json_string(f, o->class_name);
        fprintf(f, ",\"class_id\":%d,\"score\":", o->class_id);
        json_number(f, "%.6g", o->score);
        fputs(",\"box\":[", f);
        const float b[4] = {o->box.x1, o->box.y1, o->box.x2, o->box.y2};
        for (int k = 0; k < 4; k++) {
            if (k)
                fputc(',', f);
            json_number(f, "%.4f", b[k]);
        }
        fputs("]}", f);
    }
    fputs("],\"timings_ms\":{\"decode\":", f);
    json_number(f, "%.3f", decode_ms);
    fputs(",\"preprocess\":", f);
    json_number(f, "%.3f", r->timings.preprocess_ms);
    fputs(",\"inference\":", f);
    json_number(f, "%.3f", r->timings.inference_ms);
    fputs(",\"postprocess\":", f);
    json_number(f, "%.3f", r->timings.postprocess_ms);
    fputs("}}\n", f);
}

static void print_json_error(FILE *f, const char *file, const char *msg)
{
    fputs("{\"file\":", f);
    json_string(f, file);
    fputs(",\"error\":", f);
    json_string(f, msg);
    fputs("}\n", f);
}

static void print_text(FILE *f, const char *file, const odet_results *r)
{
    fprintf(f, "%s: %zu detection%s (%dx%d)\n", file, r->count, r->count == 1 ? "" : "s",
            r->image_width, r->image_height);
    for (size_t i = 0; i < r->count; i++) {
        const odet_object *o = &r->objects[i];
        fprintf(f, "  %s %.2f [%.1f %.1f %.1f %.1f]\n", o->class_name, (double)o->score,
                (double)o->box.x1, (double)o->box.y1, (double)o->box.x2, (double)o->box.y2);
    }
}

/* ------------------------------------------------------------------------ */
/* Main                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct args {
    const char *model, *out;
    odet_detector_options opt;
    int json, verbose;
    strlist inputs;  /* as given (files, directories, "-") */
} args;

/* Value of an option given as "--name VALUE" or "--name=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "detect: option %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static int matches(const char *arg, const char *shrt, const char *lng)
{
    size_t n = strlen(lng);
    return (shrt && strcmp(arg, shrt) == 0) || strcmp(arg, lng) == 0 ||
           (strncmp(arg, lng, n) == 0 && arg[n] == '=');
}

/* 0 ok, 1 help printed, -1 error (message printed). */
static int parse_args(int argc, char **argv, args *a)
{
    odet_detector_options_init(&a->opt);
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v;
        long n;
        if (only_files || s[0] != '-' || strcmp(s, "-") == 0) {
            if (strlist_add(&a->inputs, s, strlen(s)))
                return -1;
        } else if (strcmp(s, "--") == 0) {
            only_files = 1;
        } else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(s, "--json") == 0) {
            a->json = 1;
        } else if (strcmp(s, "-v") == 0 || strcmp(s, "--verbose") == 0) {
            a->verbose = 1;
        } else if (strcmp(s, "--clip") == 0) {
            a->opt.clip_boxes = 1;
        } else if (matches(s, "-m", "--model")) {
            if (!(a->model = opt_value(argc, argv, &i, s, "--model")))
                return -1;
        } else if (matches(s, "-o", "--out")) {
            if (!(a->out = opt_value(argc, argv, &i, s, "--out")))
                return -1;
        } else if (matches(s, NULL, "--arch")) {
            if (!(v = opt_value(argc, argv, &i, s, "--arch")))
                return -1;
            if (odet_arch_parse(v, &a->opt.arch) != 0) {
                fprintf(stderr, "detect: --arch %s: expected centernet, detr, vfnet or auto\n",
                        v);
                return -1;
            }
        } else if (matches(s, "-t", "--threshold")) {
            if (!(v = opt_value(argc, argv, &i, s, "--threshold")))
                return -1;
            if (parse_unit(v, &a->opt.score_threshold) != 0) {
                fprintf(stderr, "detect: --threshold %s: expected a number in [0, 1]\n", v);
                return -1;
            }
        } else if (matches(s, NULL, "--nms-iou")) {
            if (!(v = opt_value(argc, argv, &i, s, "--nms-iou")))
                return -1;
            if (parse_unit(v, &a->opt.nms_iou_threshold) != 0) {
                fprintf(stderr, "detect: --nms-iou %s: expected a number in [0, 1]\n", v);
                return -1;
            }
        } else if (matches(s, NULL, "--max-detections")) {
            if (!(v = opt_value(argc, argv, &i, s, "--max-detections")))
                return -1;
            if (cli_parse_long(v, 1, 100000, &n) != 0) {
                fprintf(stderr, "detect: --max-detections %s: expected an integer in 1..100000\n",
                        v);
                return -1;
            }
            a->opt.max_detections = (size_t)n;
        } else if (matches(s, NULL, "--threads")) {
            if (!(v = opt_value(argc, argv, &i, s, "--threads")))
                return -1;
            if (cli_parse_long(v, 1, 1024, &n) != 0) {
                fprintf(stderr, "detect: --threads %s: expected an integer in 1..1024\n", v);
                return -1;
            }
            a->opt.threads = (int)n;
        } else {
            fprintf(stderr, "detect: unknown option %s (see --help)\n", s);
            return -1;
        }
    }
    if (!a->inputs.n) {
        fprintf(stderr, "detect: no input images (see --help)\n");
        return -1;
    }
    return 0;
}

/* Model path: --model, $ODET_MODEL, the built-in defaults. */
static const char *find_model(const args *a)
{
    if (a->model)
        return a->model;
    const char *env = getenv("ODET_MODEL");
    if (env && env[0])
        return env;
    if (file_exists(ODET_DEFAULT_MODEL))
        return ODET_DEFAULT_MODEL;
    if (file_exists(ODET_DEFAULT_MODEL_INSTALLED))
        return ODET_DEFAULT_MODEL_INSTALLED;
    fprintf(stderr,
            "detect: no model: pass --model FILE or set ODET_MODEL (the default model was not "
            "found at '%s' nor at '%s')\n",
            ODET_DEFAULT_MODEL, ODET_DEFAULT_MODEL_INSTALLED);
    return NULL;
}

/* Expand directories and "-" into image paths. Returns the number of inputs
 * that could not be expanded (reported on stderr). */
static int expand_inputs(const args *a, strlist *files)
{
    int bad = 0;
    for (size_t i = 0; i < a->inputs.n; i++) {
        const char *in = a->inputs.v[i];
        if (strcmp(in, "-") == 0) {
            char line[4096];
            while (fgets(line, sizeof line, stdin)) {
                size_t len = strcspn(line, "\r\n");
                if (!line[len] && !feof(stdin)) { /* longer than the buffer: skip it */
                    int c;
                    while ((c = getchar()) != EOF && c != '\n')
                        ;
                    fprintf(stderr, "detect: stdin: path longer than %zu bytes skipped\n",
                            sizeof line - 2);
                    bad++;
                    continue;
                }
                if (len && strlist_add(files, line, len))
                    return bad + 1;
            }
        } else if (is_dir(in)) {
            int rc = add_dir(files, in);
            if (rc) {
                fprintf(stderr, "detect: %s: cannot read directory: %s\n", in,
                        rc == -2 ? "out of memory" : strerror(errno));
                bad++;
            }
        } else if (strlist_add(files, in, strlen(in))) {
            return bad + 1;
        }
    }
    return bad;
}

/* Output image path for an input in directory mode. */
static void out_path(const char *dir, const char *input, char *buf, size_t len)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t dl = strlen(dir);
    const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
    if (is_writable_ext(base))
        snprintf(buf, len, "%s%s%s", dir, sep, base);
    else
        snprintf(buf, len, "%s%s%.*s.png", dir, sep, (int)(extension(base) - base), base);
}

static int draw_and_write(odet_image_buf *buf, const odet_results *r, const char *path,
                          char *err, size_t errlen)
{
    const odet_image *v = odet_image_buf_view(buf);
    odet_canvas c = {odet_image_buf_pixels(buf), v->width, v->height, v->stride};
    int scale = odet_draw_auto_scale(v->width, v->height);
    for (size_t i = 0; i < r->count; i++) {
        const odet_object *o = &r->objects[i];
        odet_draw_detection(&c, o->box.x1, o->box.y1, o->box.x2, o->box.y2, o->class_id,
                            o->class_name, o->score, scale);
    }
    return odet_image_write(path, v, err, errlen) == ODET_OK ? 0 : -1;
}

static void print_info(const char *path, const odet_detector *det)
{
    odet_detector_info in;
    odet_detector_get_info(det, &in);
    static const char *const methods[] = {"affine_centernet", "resize_keep_ratio_cv",
                                          "resize_shorter_side_pil", "letterbox",
                                          "fixed_resize"};
    fprintf(stderr, "model: %s\n  arch %s, %zu classes, input ", path, odet_arch_name(in.arch),
            in.num_classes);
    if (in.input_width)
        fprintf(stderr, "%dx%d (WxH)", in.input_width, in.input_height);
    else
        fprintf(stderr, "dynamic (short side %d, max %d, divisor %d)", in.short_side,
                in.max_size, in.size_divisor);
    fprintf(stderr, ", preprocess %s%s, %s mean %.4g,%.4g,%.4g std %.4g,%.4g,%.4g\n",
            (unsigned)in.preprocess < 5 ? methods[in.preprocess] : "?",
            in.fit_fixed_input ? " (fit + pad)" : "",
            in.norm.order == ODET_CHANNELS_BGR ? "BGR" : "RGB", (double)in.norm.mean[0],
            (double)in.norm.mean[1], (double)in.norm.mean[2], (double)in.norm.std[0],
            (double)in.norm.std[1], (double)in.norm.std[2]);
    fprintf(stderr, "  score threshold %g, max detections %zu", (double)in.score_threshold,
            in.max_detections);
    if (in.arch == ODET_ARCH_VFNET)
        fprintf(stderr, ", NMS IoU %g, pre-NMS top-k %zu", (double)in.nms_iou_threshold,
                in.pre_nms_top_k);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        strlist_free(&a.inputs);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    const char *model = find_model(&a);
    if (!model) {
        strlist_free(&a.inputs);
        return EXIT_USAGE;
    }

    strlist files = {0};
    int failed = expand_inputs(&a, &files);
    int out_dir = 0;
    if (a.out) {
        size_t ol = strlen(a.out);
        const char *problem = NULL;
        out_dir = is_dir(a.out) || (ol && a.out[ol - 1] == '/') ||
                  (!is_writable_ext(a.out) && !is_image_name(a.out));
        if (!out_dir && !is_writable_ext(a.out))
            problem = "images are written as .png or .jpg";
        else if (!out_dir && files.n != 1)
            problem = "an output file takes exactly one input image; give a directory";
        else if (out_dir && !is_dir(a.out) && mkdir(a.out, 0777) != 0)
            problem = strerror(errno);
        if (problem) {
            fprintf(stderr, "detect: --out %s: %s\n", a.out, problem);
            strlist_free(&files);
            strlist_free(&a.inputs);
            return EXIT_USAGE;
        }
    }

    char err[ODET_ERRBUF_SIZE];
    odet_detector *det = NULL;
    if (odet_detector_load(model, &a.opt, &det, err, sizeof err) != ODET_OK) {
        fprintf(stderr, "detect: %s\n", err);
        strlist_free(&files);
        strlist_free(&a.inputs);
        return EXIT_USAGE;
    }
    if (a.verbose)
        print_info(model, det);

    for (size_t i = 0; i < files.n; i++) {
        const char *file = files.v[i];
        double t0 = cli_now_ms();
        odet_image_buf *img = NULL;
        if (odet_image_load(file, &img, err, sizeof err) != ODET_OK) {
            fprintf(stderr, "detect: %s\n", err);
            if (a.json)
                print_json_error(stdout, file, err);
            failed++;
            continue;
        }
        double decode_ms = cli_now_ms() - t0;
        odet_results r;
        if (odet_detect(det, odet_image_buf_view(img), &r, err, sizeof err) != ODET_OK) {
            fprintf(stderr, "detect: %s: %s\n", file, err);
            if (a.json)
                print_json_error(stdout, file, err);
            odet_image_buf_free(img);
            failed++;
            continue;
        }
        if (a.json)
            print_json(stdout, file, &r, decode_ms);
        else
            print_text(stdout, file, &r);
        if (a.verbose)
            fprintf(stderr,
                    "%s: decode %.2f ms, preprocess %.2f ms, inference %.2f ms, postprocess "
                    "%.2f ms (tensor %dx%d)\n",
                    file, decode_ms, r.timings.preprocess_ms, r.timings.inference_ms,
                    r.timings.postprocess_ms, r.tensor_width, r.tensor_height);
        if (a.out) {
            char path[4096];
            if (out_dir)
                out_path(a.out, file, path, sizeof path);
            else
                snprintf(path, sizeof path, "%s", a.out);
            if (draw_and_write(img, &r, path, err, sizeof err) != 0) {
                fprintf(stderr, "detect: %s: %s\n", file, err);
                failed++;
            }
        }
        odet_image_buf_free(img);
        fflush(stdout);
    }
    odet_detector_free(det);
    strlist_free(&files);
    strlist_free(&a.inputs);
    return failed ? EXIT_FILES : 0;
}
