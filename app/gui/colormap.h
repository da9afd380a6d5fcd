#pragma once
// Colormaps as 256-entry lookup tables (assets/colormaps/*.txt, made by tools/make_colormaps.py from
// matplotlib's definitions; gray is a ramp) and the mapping of attention values to colors.
#include "view_data.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace attnscope::gui {

enum class Colormap { Viridis, Magma, Jet, Gray };
inline constexpr std::array<Colormap, 4> kColormaps = {Colormap::Viridis, Colormap::Magma, Colormap::Jet,
                                                       Colormap::Gray};
const char* colormap_name(Colormap c);

using Lut = std::array<std::array<uint8_t, 3>, 256>;

class Colormaps {
  public:
    // Reads the tables from `folder`; throws std::runtime_error naming the file that is missing or malformed.
    explicit Colormaps(const std::filesystem::path& folder);
    const Lut& lut(Colormap c) const { return luts_[static_cast<size_t>(c)]; }

  private:
    std::array<Lut, 4> luts_;
};

struct ValueRange {
    float lo = 0, hi = 1;
};
ValueRange value_range(const MapImage& map); // min and max (0..1 for an empty map)
ValueRange merge(ValueRange a, ValueRange b);

// RGBA, values mapped linearly from [range.lo, range.hi] to the table (clamped); alpha 255.
std::vector<uint8_t> colorize(const MapImage& map, ValueRange range, const Lut& lut);

} // namespace attnscope::gui
