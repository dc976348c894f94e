/* Top-k selection with a bounded heap kept in the caller's output array. */
#include "pp_internal.h"

/* a ranks below b: lower score, or equal score and higher index. */
static inline int worse(const float *s, size_t a, size_t b)
{
    return s[a] < s[b] || (s[a] == s[b] && a > b);
}

/* Min-heap on "worse": the root is the worst element kept. */
static void sift_down(size_t *h, size_t cnt, size_t i, const float *s)
{
    size_t x = h[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= cnt)
            break;
        size_t c = l;
        if (l + 1 < cnt && worse(s, h[l + 1], h[l]))
            c = l + 1;
        if (!worse(s, h[c], x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static void sift_up(size_t *h, size_t i, const float *s)
{
    size_t x = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!worse(s, x, h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = x;
}

int odet_topk_min(const float *scores, size_t n, size_t k, float min_score, size_t *idx,
                  size_t *n_out)
{
    if (!n_out)
        return ODET_PP_ERR_NULL;
    *n_out = 0;
    if (!pp_count_ok(n))
        return ODET_PP_ERR_RANGE;
    if (isnan(min_score))
        return ODET_PP_ERR_PARAM;
    if (n && (!scores || (k && !idx)))
        return ODET_PP_ERR_NULL;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        float v = scores[i];
        if (isnan(v))
            return ODET_PP_ERR_NONFINITE;
        if (v < min_score || k == 0)
            continue;
        if (cnt < k) {
            idx[cnt] = i;
            sift_up(idx, cnt, scores);
            cnt++;
        } else if (v > scores[idx[0]]) {
            /* equal scores never replace: i is higher than every kept index */
            idx[0] = i;
            sift_down(idx, cnt, 0, scores);
        }
    }
    /* Heap sort: moving the worst to the end leaves the best first. */
    for (size_t end = cnt; end > 1; end--) {
        size_t t = idx[0];
        idx[0] = idx[end - 1];
        idx[end - 1] = t;
        sift_down(idx, end - 1, 0, scores);
    }
    *n_out = cnt;
    return ODET_PP_OK;
}

int odet_topk(const float *scores, size_t n, size_t k, size_t *idx, size_t *n_out)
{
    return odet_topk_min(scores, n, k, -INFINITY, idx, n_out);
}
