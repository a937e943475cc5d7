/* Image grids for the report: tiles scaled by nearest neighbour (pixels
 * stay crisp when 48x48 faces are blown up), written as PNG. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/image.h"
#include "report/report.h"

int rm_montage_init(rm_montage *m, int rows, int cols, int tile_w, int tile_h, int gap, int channels,
                    uint8_t background)
{
    memset(m, 0, sizeof *m);
    if (rows < 1 || cols < 1 || tile_w < 1 || tile_h < 1 || gap < 0)
        return rm_error("montage: invalid grid %dx%d of %dx%d tiles", rows, cols, tile_w, tile_h);
    if (channels != 1 && channels != 3) return rm_error("montage: %d channels (expected 1 or 3)", channels);
    long long w = (long long)cols * tile_w + (long long)(cols + 1) * gap;
    long long h = (long long)rows * tile_h + (long long)(rows + 1) * gap;
    if (w > RM_IMAGE_MAX_SIDE || h > RM_IMAGE_MAX_SIDE)
        return rm_error("montage: %lldx%lld pixels exceeds %d per side", w, h, RM_IMAGE_MAX_SIDE);
    m->pixels = rm_malloc((size_t)w * (size_t)h * (size_t)channels, "montage");
    if (!m->pixels) return -1;
    memset(m->pixels, background, (size_t)w * (size_t)h * (size_t)channels);
    m->rows = rows, m->cols = cols, m->tile_w = tile_w, m->tile_h = tile_h, m->gap = gap;
    m->channels = channels, m->width = (int)w, m->height = (int)h;
    return 0;
}

int rm_montage_put(rm_montage *m, int row, int col, const uint8_t *image, int channels, int h, int w)
{
    if (row < 0 || row >= m->rows || col < 0 || col >= m->cols)
        return rm_error("montage: tile (%d, %d) outside the %dx%d grid", row, col, m->rows, m->cols);
    if ((channels != 1 && channels != 3) || h < 1 || w < 1)
        return rm_error("montage: image %dx%d with %d channels", w, h, channels);
    if (channels == 3 && m->channels == 1) return rm_error("montage: an RGB image in a gray montage");
    size_t plane = (size_t)m->width * m->height, src_plane = (size_t)w * h;
    int x0 = m->gap + col * (m->tile_w + m->gap), y0 = m->gap + row * (m->tile_h + m->gap);
    for (int c = 0; c < m->channels; c++) {
        const uint8_t *src = image + (channels == 3 ? (size_t)c * src_plane : 0);
        uint8_t *dst = m->pixels + (size_t)c * plane;
        for (int ty = 0; ty < m->tile_h; ty++) {
            int sy = (int)((long long)ty * h / m->tile_h);
            for (int tx = 0; tx < m->tile_w; tx++) {
                int sx = (int)((long long)tx * w / m->tile_w);
                dst[(size_t)(y0 + ty) * m->width + x0 + tx] = src[(size_t)sy * w + sx];
            }
        }
    }
    return 0;
}

int rm_montage_save_png(const rm_montage *m, const char *path)
{
    rm_image img = {.width = m->width, .height = m->height, .channels = m->channels, .pixels = m->pixels};
    return rm_image_save_png(&img, path);
}

void rm_montage_free(rm_montage *m)
{
    free(m->pixels);
    memset(m, 0, sizeof *m);
}
