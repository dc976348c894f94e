/* odet postprocess: linear sum assignment (bipartite matching).
 *
 * Minimum-cost assignment of a rows x cols cost matrix, with the semantics of
 * scipy.optimize.linear_sum_assignment: min(rows, cols) pairs are assigned,
 * every row (if rows <= cols) or every column (if rows > cols) exactly once.
 *
 * Costs are float, all internal arithmetic (dual variables, path lengths,
 * total) is double. +inf marks a forbidden pair (with ODET_ASSIGN_MAXIMIZE,
 * -inf does); if no complete assignment of finite cost exists the result is
 * ODET_PP_ERR_INFEASIBLE. NaN, and -inf (+inf when maximizing), are rejected
 * with ODET_PP_ERR_NONFINITE, as scipy rejects them.
 *
 * Algorithm: square matrices with finite costs use Jonker-Volgenant (column
 * reduction, reduction transfer, augmenting row reduction, then shortest
 * augmenting paths); rectangular or partly forbidden matrices use row
 * reduction and shortest augmenting paths (Crouse 2016, as scipy). When
 * several assignments are optimal, the one returned may differ from scipy's;
 * the total cost is the same.
 */
#ifndef ODET_POSTPROCESS_ASSIGN_H
#define ODET_POSTPROCESS_ASSIGN_H

#include "odet/postprocess/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    /** Maximize the total instead of minimizing it (scipy maximize=True). */
    ODET_ASSIGN_MAXIMIZE = 1u << 0
};

/** cost: rows x cols, row-major. row_to_col[r] receives the column assigned to
 *  row r, or -1. total_cost (may be NULL) receives the sum of the assigned
 *  costs, accumulated in double. rows and cols may be 0. Allocates its
 *  workspace once per call (ODET_PP_ERR_NOMEM if that fails). */
int odet_linear_assignment(const float *cost, size_t rows, size_t cols, int32_t *row_to_col,
                           double *total_cost);

/** Bytes of workspace for odet_linear_assignment_ws(); SIZE_MAX on overflow. */
size_t odet_linear_assignment_workspace_size(size_t rows, size_t cols, unsigned flags);

/** No-allocation form. col_to_row (may be NULL) receives the row of each
 *  column or -1. flags: 0 or ODET_ASSIGN_MAXIMIZE. */
int odet_linear_assignment_ws(const float *cost, size_t rows, size_t cols, unsigned flags,
                              int32_t *row_to_col, int32_t *col_to_row, double *total_cost,
                              void *workspace, size_t workspace_size);

#ifdef __cplusplus
}
#endif

#endif
