#pragma once
// A small RGB drawing for the figures the command line exports (the walk-through's worksheets): filled
// rectangles, value strips and bars, and ASCII text in stb_easy_font's built-in font, so labelled charts need
// neither a font file nor a display.
#include "colormap.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnscope {

class Figure {
  public:
    Figure(int width, int height, Rgb8 background = {255, 255, 255});
    int width() const { return width_; }
    int height() const { return height_; }
    const std::vector<uint8_t>& rgb() const { return rgb_; }

    void fill(int x, int y, int w, int h, Rgb8 color); // clipped to the figure
    // Text with its top-left at (x, y), each font pixel drawn `scale` x `scale`; '\n' starts a line. Returns
    // the width drawn. Characters outside printable ASCII show as '?'.
    int text(int x, int y, const std::string& s, Rgb8 color = {0, 0, 0}, int scale = 1);
    static int text_width(const std::string& s, int scale = 1);
    static int line_height(int scale = 1) { return 12 * scale; }

  private:
    int width_, height_;
    std::vector<uint8_t> rgb_;
};

// A diverging colour for a value in [-limit, limit]: blue below zero, white at zero, red above.
Rgb8 diverging_color(double value, double limit);

// Writes the figure as a PNG, atomically (io/png_file.h).
void write_figure(const std::string& path, const Figure& figure);

} // namespace attnscope
