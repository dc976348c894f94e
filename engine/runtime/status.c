/* Status and dtype names. */
#include "odet/engine.h"

const char *odet_status_str(odet_status s)
{
    switch (s) {
    case ODET_OK: return "ODET_OK";
    case ODET_ERR_INVALID_ARG: return "ODET_ERR_INVALID_ARG";
    case ODET_ERR_IO: return "ODET_ERR_IO";
    case ODET_ERR_PARSE: return "ODET_ERR_PARSE";
    case ODET_ERR_UNSUPPORTED: return "ODET_ERR_UNSUPPORTED";
    case ODET_ERR_SHAPE: return "ODET_ERR_SHAPE";
    case ODET_ERR_DTYPE: return "ODET_ERR_DTYPE";
    case ODET_ERR_NOMEM: return "ODET_ERR_NOMEM";
    case ODET_ERR_LIMIT: return "ODET_ERR_LIMIT";
    case ODET_ERR_GRAPH: return "ODET_ERR_GRAPH";
    case ODET_ERR_INTERNAL: return "ODET_ERR_INTERNAL";
    }
    return "ODET_ERR_UNKNOWN";
}

size_t odet_dtype_size(odet_dtype t)
{
    switch (t) {
    case ODET_FLOAT: case ODET_INT32: case ODET_UINT32: return 4;
    case ODET_UINT8: case ODET_INT8: case ODET_BOOL: return 1;
    case ODET_UINT16: case ODET_INT16: case ODET_FLOAT16: return 2;
    case ODET_INT64: case ODET_DOUBLE: case ODET_UINT64: return 8;
    default: return 0;
    }
}

const char *odet_dtype_name(odet_dtype t)
{
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16",
                                        "int16", "int32", "int64", "string", "bool",
                                        "float16", "double", "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16"};
    if ((unsigned)t < sizeof names / sizeof names[0])
        return names[t];
    return "unknown";
}
