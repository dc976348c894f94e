/* Shortest augmenting path assignment for rectangular matrices (nr <= nc) and
 * matrices with forbidden (+inf) pairs: D. F. Crouse, "On implementing 2D
 * rectangular assignment algorithms", IEEE TAES 52(4), 2016 - the algorithm
 * of scipy.optimize.linear_sum_assignment - started from a row reduction
 * (u_i = row minimum, v = 0, greedy tight matching), which satisfies the
 * algorithm's invariants and spares most augmentations. */
#include "pp_internal.h"

int pp_lsap_sap(const float *c, int32_t nr, int32_t nc, int32_t *x, int32_t *y, double *u,
                double *v, double *spc, int32_t *path, int32_t *rem, int32_t *srl, int32_t *scl)
{
    const size_t ncs = (size_t)nc;
    for (int32_t j = 0; j < nc; j++) {
        v[j] = 0.0;
        y[j] = -1;
    }
    /* Row reduction and greedy matching on zero reduced cost. */
    for (int32_t i = 0; i < nr; i++) {
        const float *row = c + (size_t)i * ncs;
        double mn = INFINITY;
        int32_t jm = -1;
        for (int32_t j = 0; j < nc; j++) {
            if (row[j] < mn) {
                mn = row[j];
                jm = j;
            }
        }
        if (jm < 0)
            return ODET_PP_ERR_INFEASIBLE; /* every pair of this row forbidden */
        u[i] = mn;
        x[i] = -1;
        if (y[jm] < 0) {
            x[i] = jm;
            y[jm] = i;
        }
    }

    for (int32_t cur = 0; cur < nr; cur++) {
        if (x[cur] >= 0)
            continue;
        int32_t nrem = nc;
        for (int32_t k = 0; k < nc; k++) {
            rem[k] = nc - 1 - k;
            spc[k] = INFINITY;
        }
        int32_t nsr = 0, nsc = 0, i = cur, sink = -1;
        double minval = 0.0;
        while (sink < 0) {
            srl[nsr++] = i;
            const float *row = c + (size_t)i * ncs;
            const double ui = u[i];
            double lowest = INFINITY;
            int32_t index = -1;
            for (int32_t k = 0; k < nrem; k++) {
                int32_t j = rem[k];
                double r = minval + row[j] - ui - v[j];
                if (r < spc[j]) {
                    path[j] = i;
                    spc[j] = r;
                }
                /* among equal distances prefer a free column: it ends the path */
                if (spc[j] < lowest || (spc[j] == lowest && y[j] < 0)) {
                    lowest = spc[j];
                    index = k;
                }
            }
            minval = lowest;
            if (!(minval < INFINITY))
                return ODET_PP_ERR_INFEASIBLE;
            int32_t j = rem[index];
            scl[nsc++] = j;
            if (y[j] < 0)
                sink = j;
            else
                i = y[j];
            rem[index] = rem[--nrem];
        }
        /* Dual update (srl[0] is cur), then flip the path. */
        u[cur] += minval;
        for (int32_t k = 1; k < nsr; k++) {
            int32_t r = srl[k];
            u[r] += minval - spc[x[r]];
        }
        for (int32_t k = 0; k < nsc; k++) {
            int32_t j = scl[k];
            v[j] -= minval - spc[j];
        }
        int32_t j = sink;
        for (;;) {
            int32_t r = path[j];
            y[j] = r;
            int32_t t = x[r];
            x[r] = j;
            j = t;
            if (r == cur)
                break;
        }
    }
    return ODET_PP_OK;
}
