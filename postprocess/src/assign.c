/* Linear sum assignment: validation, orientation (rows <= cols), solver
 * choice and results. Solvers: assign_jv.c, assign_sap.c. */
#include <stdlib.h>
#include <string.h>

#include "pp_internal.h"

typedef struct assign_layout {
    float *copy; /* transposed and/or negated matrix, NULL if not needed */
    double *u, *v, *d;
    int32_t *x, *y, *freel, *col, *pred, *matches, *srl, *scl;
} assign_layout;

static void assign_layout_take(pp_arena *a, size_t rows, size_t cols, unsigned flags,
                               assign_layout *L)
{
    size_t r = rows < cols ? rows : cols, c = rows < cols ? cols : rows;
    int need_copy = rows > cols || (flags & ODET_ASSIGN_MAXIMIZE);
    memset(L, 0, sizeof *L);
    if (need_copy) {
        if (r && c > SIZE_MAX / r) {
            a->overflow = 1;
            return;
        }
        L->copy = pp_arena_take(a, r * c, sizeof(float));
    }
    L->u = pp_arena_take(a, r, sizeof(double));
    L->v = pp_arena_take(a, c, sizeof(double));
    L->d = pp_arena_take(a, c, sizeof(double));
    L->x = pp_arena_take(a, r, sizeof(int32_t));
    L->y = pp_arena_take(a, c, sizeof(int32_t));
    L->freel = pp_arena_take(a, r, sizeof(int32_t));
    L->col = pp_arena_take(a, c, sizeof(int32_t));
    L->pred = pp_arena_take(a, c, sizeof(int32_t));
    L->matches = pp_arena_take(a, r, sizeof(int32_t));
    L->srl = pp_arena_take(a, r, sizeof(int32_t));
    L->scl = pp_arena_take(a, c, sizeof(int32_t));
}

size_t odet_linear_assignment_workspace_size(size_t rows, size_t cols, unsigned flags)
{
    if (!pp_count_ok(rows) || !pp_count_ok(cols))
        return SIZE_MAX;
    pp_arena a;
    assign_layout L;
    pp_arena_init(&a, NULL);
    assign_layout_take(&a, rows, cols, flags, &L);
    return pp_arena_size(&a);
}

int odet_linear_assignment_ws(const float *cost, size_t rows, size_t cols, unsigned flags,
                              int32_t *row_to_col, int32_t *col_to_row, double *total_cost,
                              void *workspace, size_t workspace_size)
{
    if (!pp_count_ok(rows) || !pp_count_ok(cols))
        return ODET_PP_ERR_RANGE;
    if (flags & ~(unsigned)ODET_ASSIGN_MAXIMIZE)
        return ODET_PP_ERR_PARAM;
    if ((rows && !row_to_col) || (rows && cols && !cost))
        return ODET_PP_ERR_NULL;
    if (rows && cols > SIZE_MAX / sizeof(float) / rows)
        return ODET_PP_ERR_RANGE;
    for (size_t i = 0; i < rows; i++)
        row_to_col[i] = -1;
    if (col_to_row)
        for (size_t j = 0; j < cols; j++)
            col_to_row[j] = -1;
    if (total_cost)
        *total_cost = 0.0;
    if (rows == 0 || cols == 0)
        return ODET_PP_OK;
    if (!workspace)
        return ODET_PP_ERR_NULL;
    if (workspace_size < odet_linear_assignment_workspace_size(rows, cols, flags))
        return ODET_PP_ERR_WORKSPACE;

    /* Reject NaN and the infinity that cannot be a cost; note forbidden pairs. */
    const int maximize = (flags & ODET_ASSIGN_MAXIMIZE) != 0;
    const float bad_inf = maximize ? INFINITY : -INFINITY;
    const float forbid = -bad_inf;
    int forbidden = 0;
    const size_t total = rows * cols;
    for (size_t k = 0; k < total; k++) {
        float e = cost[k];
        if (isnan(e) || e == bad_inf)
            return ODET_PP_ERR_NONFINITE;
        forbidden |= e == forbid;
    }

    pp_arena a;
    assign_layout L;
    pp_arena_init(&a, workspace);
    assign_layout_take(&a, rows, cols, flags, &L);

    const int transposed = rows > cols;
    const size_t r = transposed ? cols : rows, c = transposed ? rows : cols;
    const float *m = cost;
    if (L.copy) {
        const float sign = maximize ? -1.0f : 1.0f;
        if (transposed) {
            /* blocked transpose: copy[j][i] = cost[i][j] */
            const size_t B = 32;
            for (size_t i0 = 0; i0 < rows; i0 += B)
                for (size_t j0 = 0; j0 < cols; j0 += B)
                    for (size_t i = i0; i < i0 + B && i < rows; i++)
                        for (size_t j = j0; j < j0 + B && j < cols; j++)
                            L.copy[j * rows + i] = sign * cost[i * cols + j];
        } else {
            for (size_t k = 0; k < total; k++)
                L.copy[k] = sign * cost[k];
        }
        m = L.copy;
    }

    if (r == c && !forbidden) {
        pp_lapjv(m, (int32_t)r, L.x, L.y, L.v, L.d, L.freel, L.col, L.pred, L.matches);
    } else {
        int st = pp_lsap_sap(m, (int32_t)r, (int32_t)c, L.x, L.y, L.u, L.v, L.d, L.pred, L.col,
                             L.srl, L.scl);
        if (st != ODET_PP_OK)
            return st;
    }

    double sum = 0.0;
    for (size_t i = 0; i < r; i++) {
        size_t j = (size_t)L.x[i];
        size_t row = transposed ? j : i, column = transposed ? i : j;
        row_to_col[row] = (int32_t)column;
        if (col_to_row)
            col_to_row[column] = (int32_t)row;
        sum += cost[row * cols + column];
    }
    if (total_cost)
        *total_cost = sum;
    return ODET_PP_OK;
}

int odet_linear_assignment(const float *cost, size_t rows, size_t cols, int32_t *row_to_col,
                           double *total_cost)
{
    if (!pp_count_ok(rows) || !pp_count_ok(cols))
        return ODET_PP_ERR_RANGE;
    size_t sz = odet_linear_assignment_workspace_size(rows, cols, 0);
    if (sz == SIZE_MAX)
        return ODET_PP_ERR_RANGE;
    void *ws = malloc(sz);
    if (!ws)
        return ODET_PP_ERR_NOMEM;
    int st = odet_linear_assignment_ws(cost, rows, cols, 0, row_to_col, NULL, total_cost, ws, sz);
    free(ws);
    return st;
}
