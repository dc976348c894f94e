/* odet postprocess: turn raw detector outputs into final detections.
 *
 * A standalone C11 library (libc and libm only, no engine dependency):
 *   odet/postprocess/common.h  status codes, odet_box, odet_detection
 *   odet/postprocess/box.h     formats, clipping, letterbox / affine inverses
 *   odet/postprocess/iou.h     IoU / GIoU / DIoU / CIoU, matrices, losses
 *   odet/postprocess/nms.h     hard / soft / DIoU / matrix NMS, batched, top-k
 *   odet/postprocess/assign.h  linear sum assignment (Jonker-Volgenant)
 *   odet/postprocess/decode.h  CenterNet and DETR decoding, DETR matching cost
 *   odet/postprocess/rank.h    IoU-aware ranking (VarifocalNet), score fusion
 *   odet/postprocess/eval.h    COCO-protocol evaluation (AP, AR)
 */
#ifndef ODET_POSTPROCESS_H
#define ODET_POSTPROCESS_H

#include "odet/postprocess/common.h"
#include "odet/postprocess/box.h"
#include "odet/postprocess/iou.h"
#include "odet/postprocess/nms.h"
#include "odet/postprocess/assign.h"
#include "odet/postprocess/decode.h"
#include "odet/postprocess/rank.h"
#include "odet/postprocess/eval.h"

#endif
