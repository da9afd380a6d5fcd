#pragma once
// Colormaps as 256-entry lookup tables (assets/colormaps/*.txt, made by tools/make_colormaps.py from
// matplotlib's definitions; gray is a ramp) and the mapping of attention values to colours. No LibTorch:
// the visualizer and the command line share it.
#include "map_image.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

enum class Colormap { Viridis, Magma, Jet, Gray };
inline constexpr std::array<Colormap, 4> kColormaps = {Colormap::Viridis, Colormap::Magma, Colormap::Jet,
                                                       Colormap::Gray};
const char* colormap_name(Colormap c);
std::optional<Colormap> parse_colormap(const std::string& name); // the names colormap_name() gives

using Rgb8 = std::array<uint8_t, 3>;
using Lut = std::array<Rgb8, 256>;

class Colormaps {
  public:
    // The bundled tables (assets_dir()/colormaps).
    Colormaps();
    // Reads the tables from `folder`; throws std::runtime_error naming the file that is missing or malformed.
    explicit Colormaps(const std::filesystem::path& folder);
    const Lut& lut(Colormap c) const { return luts_[static_cast<size_t>(c)]; }

  private:
    std::array<Lut, 4> luts_;
};

// The table entry for `value`: normalized(value, range) * 255, rounded.
const Rgb8& color_of(float value, ValueRange range, const Lut& lut);

// RGBA, values mapped linearly from [range.lo, range.hi] to the table (clamped); alpha 255.
std::vector<uint8_t> colorize(const MapImage& map, ValueRange range, const Lut& lut);
// The same without alpha: RGB triples.
std::vector<uint8_t> colorize_rgb(const MapImage& map, ValueRange range, const Lut& lut);

} // namespace attnscope
