/* Status names. */
#include "pp_internal.h"

const char *odet_pp_status_str(int status)
{
    switch (status) {
    case ODET_PP_OK: return "ODET_PP_OK";
    case ODET_PP_ERR_NULL: return "ODET_PP_ERR_NULL";
    case ODET_PP_ERR_RANGE: return "ODET_PP_ERR_RANGE";
    case ODET_PP_ERR_NONFINITE: return "ODET_PP_ERR_NONFINITE";
    case ODET_PP_ERR_PARAM: return "ODET_PP_ERR_PARAM";
    case ODET_PP_ERR_WORKSPACE: return "ODET_PP_ERR_WORKSPACE";
    case ODET_PP_ERR_NOMEM: return "ODET_PP_ERR_NOMEM";
    case ODET_PP_ERR_INFEASIBLE: return "ODET_PP_ERR_INFEASIBLE";
    default: return "unknown";
    }
}
