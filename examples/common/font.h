/* A small anti-aliased monospace font for figure labels (printable ASCII). */
#ifndef DS_EXAMPLE_FONT_H
#define DS_EXAMPLE_FONT_H

#define FONT_W 7
#define FONT_H 15
extern const unsigned char font_glyphs[95][FONT_W * FONT_H];

#endif
