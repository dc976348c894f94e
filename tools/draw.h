/* Drawing detections onto RGB images for the command-line tools: rectangles
 * in per-class colours and "name 0.87" labels on a filled background, text
 * from stb_easy_font's segment font. Everything is clipped to the canvas;
 * coordinates may be anywhere (NaN boxes are skipped). */
#ifndef ODET_TOOLS_DRAW_H
#define ODET_TOOLS_DRAW_H

#include <stddef.h>
#include <stdint.h>

/** An RGB 8-bit image to draw on (3 bytes per pixel, rows `stride` bytes apart). */
typedef struct odet_canvas {
    uint8_t *data;
    int width, height;
    size_t stride;
} odet_canvas;

/** A distinct colour for a class id (cycles after 20; negative ids are grey). */
void odet_draw_class_color(int class_id, uint8_t rgb[3]);

/** Fill pixels x0 <= x < x1, y0 <= y < y1. */
void odet_draw_fill_rect(const odet_canvas *c, int x0, int y0, int x1, int y1,
                         const uint8_t rgb[3]);

/** Outline of the pixel rectangle x0..x1, y0..y1 (inclusive), `thickness`
 *  pixels wide, drawn inwards from those edges. */
void odet_draw_rect(const odet_canvas *c, int x0, int y0, int x1, int y1, int thickness,
                    const uint8_t rgb[3]);

/** Size in pixels of a single-line text at an integer scale (>= 1): the
 *  advance width and the cell height, descenders included. */
void odet_draw_text_size(const char *text, int scale, int *w, int *h);

/** Draw text with its cell's top-left at (x, y). Characters outside
 *  ASCII 32..126 are drawn as '?'. */
void odet_draw_text(const odet_canvas *c, int x, int y, const char *text, int scale,
                    const uint8_t rgb[3]);

/** Text on a filled background box with a 1 * scale pixel margin; the box's
 *  top-left corner is (x, y). Returns the box height. */
int odet_draw_label(const odet_canvas *c, int x, int y, const char *text, int scale,
                    const uint8_t bg[3], const uint8_t fg[3]);

/** A detection: box (x1, y1, x2, y2) in pixel coordinates, outline 2 * scale
 *  pixels in the class colour, and a label "name 0.87" (or "class 0.87"
 *  when name is NULL) above the box, or inside it at the top edge of the
 *  image. Text is black or white, whichever contrasts with the colour. */
void odet_draw_detection(const odet_canvas *c, float x1, float y1, float x2, float y2,
                         int class_id, const char *name, float score, int scale);

/** A scale for labels that stay readable on an image of this size. */
int odet_draw_auto_scale(int width, int height);

#endif
