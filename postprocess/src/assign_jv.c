/* Jonker-Volgenant linear assignment for square matrices (Jonker & Volgenant,
 * "A shortest augmenting path algorithm for dense and sparse linear assignment
 * problems", Computing 38, 1987): column reduction, reduction transfer, two
 * rounds of augmenting row reduction, then Dijkstra augmentation. Row prices
 * are implicit (u_i = c[i][x_i] - v[x_i]); everything is double. */
#include <string.h>

#include "pp_internal.h"

void pp_lapjv(const float *c, int32_t n, int32_t *x, int32_t *y, double *v, double *d,
              int32_t *freel, int32_t *col, int32_t *pred, int32_t *matches)
{
    const size_t nn = (size_t)n;
    if (n == 1) {
        x[0] = 0;
        y[0] = 0;
        return;
    }

    /* Column reduction, row by row for cache locality; first minimum wins. */
    for (int32_t j = 0; j < n; j++) {
        v[j] = c[j];
        y[j] = 0;
    }
    for (int32_t i = 1; i < n; i++) {
        const float *row = c + (size_t)i * nn;
        for (int32_t j = 0; j < n; j++) {
            if (row[j] < v[j]) {
                v[j] = row[j];
                y[j] = i;
            }
        }
    }
    memset(matches, 0, nn * sizeof *matches);
    for (int32_t i = 0; i < n; i++)
        x[i] = -1;
    for (int32_t j = n - 1; j >= 0; j--) {
        int32_t i = y[j];
        if (++matches[i] == 1)
            x[i] = j;
        else
            y[j] = -1;
    }

    /* Reduction transfer from rows assigned once; collect free rows. */
    int32_t nfree = 0;
    for (int32_t i = 0; i < n; i++) {
        if (matches[i] == 0) {
            freel[nfree++] = i;
        } else if (matches[i] == 1) {
            const float *row = c + (size_t)i * nn;
            int32_t j1 = x[i];
            double mn = INFINITY;
            for (int32_t j = 0; j < n; j++) {
                if (j == j1)
                    continue;
                double h = row[j] - v[j];
                if (h < mn)
                    mn = h;
            }
            v[j1] -= mn;
        }
    }

    /* Augmenting row reduction, twice. Each step keeps every assigned row on
     * a minimum of its reduced costs, so stopping early is safe: a step cap
     * guards against the slow cycling floating-point data can cause, and
     * leftover rows go to the augmentation phase. */
    for (int loop = 0; loop < 2 && nfree > 0; loop++) {
        int32_t k = 0, prv = nfree;
        size_t steps = 0, cap = 8 * nn + 64;
        nfree = 0;
        while (k < prv) {
            if (++steps > cap) {
                memmove(freel + nfree, freel + k, (size_t)(prv - k) * sizeof *freel);
                nfree += prv - k;
                break;
            }
            int32_t i = freel[k++];
            const float *row = c + (size_t)i * nn;
            double umin = row[0] - v[0], usub = INFINITY;
            int32_t j1 = 0, j2 = 0;
            for (int32_t j = 1; j < n; j++) {
                double h = row[j] - v[j];
                if (h < usub) {
                    if (h >= umin) {
                        usub = h;
                        j2 = j;
                    } else {
                        usub = umin;
                        umin = h;
                        j2 = j1;
                        j1 = j;
                    }
                }
            }
            int32_t i0 = y[j1];
            if (umin < usub) {
                v[j1] -= usub - umin;
            } else if (i0 >= 0) {
                j1 = j2;
                i0 = y[j2];
            }
            x[i] = j1;
            y[j1] = i;
            if (i0 >= 0) {
                x[i0] = -1;
                if (umin < usub)
                    freel[--k] = i0;
                else
                    freel[nfree++] = i0;
            }
        }
    }

    /* Augmentation: Dijkstra from each free row to the nearest free column.
     * col[0..low) are settled, col[low..up) form the current distance level
     * (distance mn), col[up..n) remain. Every pass over the remaining
     * columns also tracks their minimum (value tmn, position tam, count tcnt,
     * a free column at it tfree), so opening the next level needs no extra
     * scan unless several columns tie at the minimum. */
    for (int32_t f = 0; f < nfree; f++) {
        const int32_t freerow = freel[f];
        const float *row = c + (size_t)freerow * nn;
        double tmn = INFINITY;
        int32_t tam = -1, tcnt = 0, tfree = -1;
        for (int32_t j = 0; j < n; j++) {
            double dj = row[j] - v[j];
            d[j] = dj;
            pred[j] = freerow;
            col[j] = j;
            if (dj < tmn) {
                tmn = dj;
                tam = j;
                tcnt = 1;
                tfree = y[j] < 0 ? j : -1;
            } else if (dj == tmn) {
                tcnt++;
                if (tfree < 0 && y[j] < 0)
                    tfree = j;
            }
        }
        int32_t low = 0, up = 0, last = -1, endofpath = -1;
        double mn = 0.0;
        while (endofpath < 0) {
            if (up == low) {
                /* Open the next level at the tracked minimum. */
                last = low - 1;
                mn = tmn;
                if (tfree >= 0) {
                    endofpath = tfree;
                    break;
                }
                if (tcnt == 1) {
                    int32_t j = col[tam];
                    col[tam] = col[up];
                    col[up++] = j;
                } else {
                    for (int32_t k = up; k < n; k++) {
                        int32_t j = col[k];
                        if (d[j] == mn) {
                            col[k] = col[up];
                            col[up++] = j;
                        }
                    }
                }
            }
            /* Scan one column of the level through its row. */
            int32_t j1 = col[low++];
            int32_t i = y[j1];
            const float *ri = c + (size_t)i * nn;
            double h = ri[j1] - v[j1] - mn;
            tmn = INFINITY;
            tam = -1;
            tcnt = 0;
            tfree = -1;
            for (int32_t k = up; k < n; k++) {
                int32_t j = col[k];
                double v2 = ri[j] - v[j] - h;
                double dj = d[j];
                if (v2 < dj) {
                    pred[j] = i;
                    dj = v2;
                    d[j] = v2;
                    if (v2 == mn) {
                        /* joins the current level; a free one ends the path */
                        if (y[j] < 0) {
                            endofpath = j;
                            break;
                        }
                        if (tam == up)
                            tam = k; /* the displaced column keeps its tracking */
                        col[k] = col[up];
                        col[up++] = j;
                        continue;
                    }
                }
                if (dj < tmn) {
                    tmn = dj;
                    tam = k;
                    tcnt = 1;
                    tfree = y[j] < 0 ? j : -1;
                } else if (dj == tmn) {
                    tcnt++;
                    if (tfree < 0 && y[j] < 0)
                        tfree = j;
                }
            }
        }
        /* Price update for the columns settled before the last level. */
        for (int32_t k = 0; k <= last; k++) {
            int32_t j1 = col[k];
            v[j1] += d[j1] - mn;
        }
        /* Flip the alternating path. */
        int32_t i;
        do {
            i = pred[endofpath];
            y[endofpath] = i;
            int32_t j1 = endofpath;
            endofpath = x[i];
            x[i] = j1;
        } while (i != freerow);
    }
}
