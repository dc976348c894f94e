/* Greedy NMS kernels: hard (torchvision float32 arithmetic) and DIoU.
 *
 * Both keep the surviving candidates of a group packed in rank order: the
 * head is kept, every later candidate it suppresses is removed, repeat. This
 * is torchvision's loop without the pass over already-suppressed boxes, and
 * the overlap test runs as a branch-free, vectorizable loop. */
#include "pp_internal.h"

void pp_nms_hard_group(float *restrict x1, float *restrict y1, float *restrict x2,
                       float *restrict y2, float *restrict ar, uint32_t *restrict rank,
                       uint8_t *restrict sup, size_t m, float thr, size_t max_keep,
                       uint8_t *restrict flag)
{
    size_t kept = 0, head = 0;
    while (head < m) {
        const float ix1 = x1[head], iy1 = y1[head], ix2 = x2[head], iy2 = y2[head];
        const float ia = ar[head];
        flag[rank[head]] = 1;
        head++;
        if (++kept == max_keep)
            break;
        /* Same expressions as torchvision's nms_kernel_impl: std::max(a, b) is
         * (a < b ? b : a), std::min(a, b) is (b < a ? b : a), and the IoU is
         * inter / (iarea + area - inter) compared with '>' in float. */
        unsigned nsup = 0;
        for (size_t j = head; j < m; j++) {
            float xx1 = ix1 < x1[j] ? x1[j] : ix1;
            float yy1 = iy1 < y1[j] ? y1[j] : iy1;
            float xx2 = x2[j] < ix2 ? x2[j] : ix2;
            float yy2 = y2[j] < iy2 ? y2[j] : iy2;
            float w = xx2 - xx1;
            float h = yy2 - yy1;
            w = 0.0f < w ? w : 0.0f;
            h = 0.0f < h ? h : 0.0f;
            float inter = w * h;
            float ovr = inter / (ia + ar[j] - inter);
            uint8_t s = ovr > thr;
            sup[j] = s;
            nsup += s;
        }
        if (!nsup)
            continue;
        size_t w = head;
        while (!sup[w])
            w++;
        for (size_t j = w + 1; j < m; j++) {
            x1[w] = x1[j];
            y1[w] = y1[j];
            x2[w] = x2[j];
            y2[w] = y2[j];
            ar[w] = ar[j];
            rank[w] = rank[j];
            w += !sup[j];
        }
        m = w;
    }
}

void pp_nms_diou_group(const pp_boxd *bx, const uint32_t *rk, uint32_t *pos, size_t m,
                       double thr, size_t max_keep, uint8_t *flag)
{
    for (size_t k = 0; k < m; k++)
        pos[k] = (uint32_t)k;
    size_t kept = 0, head = 0;
    while (head < m) {
        const pp_boxd *bi = &bx[pos[head]];
        flag[rk[pos[head]]] = 1;
        head++;
        if (++kept == max_keep)
            break;
        size_t w = head;
        for (size_t j = head; j < m; j++) {
            uint32_t p = pos[j];
            pos[w] = p;
            w += !(pp_iou_prepared(bi, &bx[p], ODET_DIOU) > thr);
        }
        m = w;
    }
}
