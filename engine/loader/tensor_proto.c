/* TensorProto decoding (all storage forms: raw_data, typed fields, external
 * data) and the public .pb tensor file reader/writer. */
#include <errno.h>
#include <sys/types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/tensor_proto.h"
#include "odet/tensor_io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "odet assumes a little-endian host (ONNX raw_data is little-endian)"
#endif

static odet_status fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static odet_status fail(char *err, size_t errlen, odet_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

odet_status odet_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, ODET_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return fail(err, errlen, ODET_ERR_IO, "cannot seek in '%s'", path);
    }
    long sz = ftell(f);
    if (sz < 0) {
        fclose(f);
        return fail(err, errlen, ODET_ERR_IO, "'%s' is not a regular file", path);
    }
    rewind(f);
    uint8_t *b = malloc((size_t)sz + 1);
    if (!b) {
        fclose(f);
        return fail(err, errlen, ODET_ERR_NOMEM, "out of memory reading '%s' (%ld bytes)", path, sz);
    }
    size_t got = fread(b, 1, (size_t)sz, f);
    fclose(f);
    if (got != (size_t)sz) {
        free(b);
        return fail(err, errlen, ODET_ERR_IO, "short read on '%s'", path);
    }
    *buf = b;
    *len = (size_t)sz;
    return ODET_OK;
}

static odet_status read_external(const Onnx__TensorProto *tp, const char *base_dir,
                                 const char *what, void *dst, size_t bytes, char *err,
                                 size_t errlen)
{
    const char *location = NULL;
    long long offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        char *end = NULL;
        if (strcmp(e->key, "location") == 0) {
            location = e->value;
        } else if (strcmp(e->key, "offset") == 0) {
            offset = strtoll(e->value, &end, 10);
            if (*end || offset < 0)
                return fail(err, errlen, ODET_ERR_PARSE, "%s: bad external data offset '%s'",
                            what, e->value);
        } else if (strcmp(e->key, "length") == 0) {
            length = strtoll(e->value, &end, 10);
            if (*end || length < 0)
                return fail(err, errlen, ODET_ERR_PARSE, "%s: bad external data length '%s'",
                            what, e->value);
        }
    }
    if (!location || !location[0])
        return fail(err, errlen, ODET_ERR_PARSE, "%s: external data without a 'location'", what);
    if (!base_dir)
        return fail(err, errlen, ODET_ERR_IO,
                    "%s: external data '%s' needs the model's folder (load from a file path)",
                    what, location);
    if (location[0] == '/' || strstr(location, "..") != NULL)
        return fail(err, errlen, ODET_ERR_PARSE,
                    "%s: external data location '%s' must be a relative path inside the model's "
                    "folder", what, location);
    if (length >= 0 && (size_t)length != bytes)
        return fail(err, errlen, ODET_ERR_PARSE,
                    "%s: external data length %lld does not match the shape (%zu bytes)", what,
                    length, bytes);
    size_t plen = strlen(base_dir) + strlen(location) + 2;
    char *path = malloc(plen);
    if (!path)
        return fail(err, errlen, ODET_ERR_NOMEM, "out of memory");
    snprintf(path, plen, "%s/%s", base_dir, location);
    FILE *f = fopen(path, "rb");
    if (!f) {
        odet_status st = fail(err, errlen, ODET_ERR_IO, "%s: cannot open external data '%s': %s",
                              what, path, strerror(errno));
        free(path);
        return st;
    }
    odet_status st = ODET_OK;
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || fread(dst, 1, bytes, f) != bytes)
        st = fail(err, errlen, ODET_ERR_PARSE,
                  "%s: external data file '%s' is too short (need %zu bytes at offset %lld)", what,
                  path, bytes, offset);
    fclose(f);
    free(path);
    return st;
}

odet_status odet_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                   const char *what, odet_tensor **out, char *err, size_t errlen)
{
    *out = NULL;
    odet_dtype dt = (odet_dtype)tp->data_type;
    size_t es = odet_dtype_size(dt);
    if (es == 0)
        return fail(err, errlen, ODET_ERR_UNSUPPORTED, "%s: element type %s (%d) is not supported",
                    what, odet_dtype_name(dt), (int)tp->data_type);
    if (tp->n_dims > ODET_MAX_RANK)
        return fail(err, errlen, ODET_ERR_LIMIT, "%s: rank %zu exceeds the maximum of %d", what,
                    tp->n_dims, ODET_MAX_RANK);
    int64_t numel = odet_dims_numel_checked((int)tp->n_dims, tp->dims);
    if (numel < 0) {
        for (size_t i = 0; i < tp->n_dims; i++)
            if (tp->dims[i] < 0)
                return fail(err, errlen, ODET_ERR_PARSE, "%s: negative dimension %lld", what,
                            (long long)tp->dims[i]);
        return fail(err, errlen, ODET_ERR_LIMIT,
                    "%s: declared shape has too many elements (limit %lld)", what,
                    (long long)ODET_MAX_TENSOR_ELEMS);
    }
    size_t bytes = (size_t)numel * es;
    int external = tp->has_data_location &&
                   tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    /* check that the stored element count matches before allocating */
    size_t stored = 0;
    const char *field = "raw_data";
    if (external) {
        stored = (size_t)numel;
    } else if (tp->has_raw_data && (tp->raw_data.len > 0 || numel == 0 ||
                                    (tp->n_float_data | tp->n_int32_data | tp->n_int64_data |
                                     tp->n_double_data | tp->n_uint64_data) == 0)) {
        if (tp->raw_data.len != bytes)
            return fail(err, errlen, ODET_ERR_PARSE,
                        "%s: raw_data has %zu bytes, shape and type need %zu", what,
                        tp->raw_data.len, bytes);
        stored = (size_t)numel;
    } else {
        switch (dt) {
        case ODET_FLOAT: stored = tp->n_float_data; field = "float_data"; break;
        case ODET_DOUBLE: stored = tp->n_double_data; field = "double_data"; break;
        case ODET_INT64: stored = tp->n_int64_data; field = "int64_data"; break;
        case ODET_UINT32: case ODET_UINT64: stored = tp->n_uint64_data; field = "uint64_data"; break;
        default: stored = tp->n_int32_data; field = "int32_data"; break;
        }
        if (stored != (size_t)numel)
            return fail(err, errlen, ODET_ERR_PARSE, "%s: %s has %zu elements, shape needs %lld",
                        what, field, stored, (long long)numel);
    }
    odet_tensor *t = odet_tensor_alloc(dt, (int)tp->n_dims, tp->dims);
    if (!t)
        return fail(err, errlen, ODET_ERR_NOMEM, "%s: out of memory (%zu bytes)", what, bytes);
    odet_status st = ODET_OK;
    if (external) {
        st = read_external(tp, base_dir, what, t->data, bytes, err, errlen);
    } else if (strcmp(field, "raw_data") == 0) {
        if (bytes)
            memcpy(t->data, tp->raw_data.data, bytes);
    } else {
        for (int64_t i = 0; i < numel; i++) {
            switch (dt) {
            case ODET_FLOAT: ((float *)t->data)[i] = tp->float_data[i]; break;
            case ODET_DOUBLE: ((double *)t->data)[i] = tp->double_data[i]; break;
            case ODET_INT64: ((int64_t *)t->data)[i] = tp->int64_data[i]; break;
            case ODET_UINT64: ((uint64_t *)t->data)[i] = tp->uint64_data[i]; break;
            case ODET_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i]; break;
            case ODET_INT32: ((int32_t *)t->data)[i] = tp->int32_data[i]; break;
            case ODET_INT16: ((int16_t *)t->data)[i] = (int16_t)tp->int32_data[i]; break;
            case ODET_UINT16: case ODET_FLOAT16:
                ((uint16_t *)t->data)[i] = (uint16_t)tp->int32_data[i]; break;
            case ODET_INT8: ((int8_t *)t->data)[i] = (int8_t)tp->int32_data[i]; break;
            case ODET_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)tp->int32_data[i]; break;
            case ODET_BOOL: ((uint8_t *)t->data)[i] = tp->int32_data[i] != 0; break;
            default: break;
            }
        }
    }
    if (st != ODET_OK) {
        odet_tensor_free(t);
        return st;
    }
    *out = t;
    return ODET_OK;
}

/* ---- public .pb file I/O ---- */

odet_status odet_tensor_read_pb(const char *path, odet_tensor *out, char *name, size_t name_len,
                                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (name && name_len)
        name[0] = '\0';
    uint8_t *buf;
    size_t len;
    odet_status st = odet_read_file(path, &buf, &len, err, errlen);
    if (st != ODET_OK)
        return st;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return fail(err, errlen, ODET_ERR_PARSE, "'%s' is not a valid ONNX TensorProto file",
                    path);
    char what[320];
    snprintf(what, sizeof what, "tensor file '%s'", path);
    /* external data of a standalone tensor file resolves next to the file */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    odet_tensor *t = NULL;
    st = odet_tensor_from_proto(tp, dir, what, &t, err, errlen);
    if (st == ODET_OK) {
        *out = *t;
        free(t);
        if (name && name_len && tp->name)
            snprintf(name, name_len, "%s", tp->name);
    }
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

odet_status odet_tensor_write_pb(const char *path, const odet_tensor *t, const char *name,
                                 char *err, size_t errlen)
{
    if (!t || t->rank < 0 || t->rank > ODET_MAX_RANK || odet_dtype_size(t->dtype) == 0)
        return fail(err, errlen, ODET_ERR_INVALID_ARG, "cannot write tensor to '%s': invalid tensor",
                    path);
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[ODET_MAX_RANK];
    for (int i = 0; i < t->rank; i++)
        dims[i] = t->dims[i];
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = (int32_t)t->dtype;
    tp.name = (char *)(name ? name : "");
    tp.has_raw_data = 1;
    tp.raw_data.len = odet_tensor_bytes(t);
    tp.raw_data.data = t->data;
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return fail(err, errlen, ODET_ERR_NOMEM, "out of memory writing '%s'", path);
    onnx__tensor_proto__pack(&tp, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return fail(err, errlen, ODET_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    }
    size_t wrote = fwrite(buf, 1, len, f);
    int closed = fclose(f);
    free(buf);
    if (wrote != len || closed != 0)
        return fail(err, errlen, ODET_ERR_IO, "cannot write '%s'", path);
    return ODET_OK;
}

void odet_tensor_release(odet_tensor *t)
{
    if (!t)
        return;
    free(t->data);
    memset(t, 0, sizeof *t);
}
