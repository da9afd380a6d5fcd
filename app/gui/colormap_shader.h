#pragma once
// Colours maps on the GPU: shaders/colormap.frag reads a map's raw values (MapTexture::values), maps them
// through a 256x1 colour table and draws its RGBA8 texture (MapTexture::colors) through a framebuffer. The
// range and the table are uniforms and a texture, so changing the colormap or the normalization re-paints
// without writing the values again.
#include "render/colormap.h"
#include "texture.h"

namespace attnscope::gui {

class ColormapShader {
  public:
    // Compiles and links the program (GL context current); throws std::runtime_error with GL's log.
    ColormapShader();
    ~ColormapShader();
    ColormapShader(const ColormapShader&) = delete;
    ColormapShader& operator=(const ColormapShader&) = delete;

    void set_lut(const Lut& lut);
    // Paints `map.colors` from `map.values` with [lo, hi] spanning the table. Leaves the GL state (bindings,
    // viewport, blending) as it found it.
    void paint(MapTexture& map, float lo, float hi);

  private:
    unsigned program_ = 0, vertex_array_ = 0;
    int lo_ = -1, hi_ = -1;
    Texture lut_;
};

} // namespace attnscope::gui
