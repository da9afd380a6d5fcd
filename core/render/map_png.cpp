#include "map_png.h"

#include "io/png16_file.h"
#include "io/png_file.h"

namespace attnscope {

void write_map_pngs(const MapImage& map, ValueRange range, const Lut& lut, const std::string& colour_path,
                    const std::string& gray_path) {
    write_png(colour_path, {map.width, map.height, 3, colorize_rgb(map, range, lut)});
    write_png16(gray_path, {map.width, map.height, to_gray16(map, range)});
}

nlohmann::json map_pngs_json(const std::string& colour_file, const std::string& gray_file, ValueRange range) {
    const nlohmann::json r{{"lo", range.lo}, {"hi", range.hi}};
    return {{"png", {{"file", colour_file}, {"range", r}}}, {"png16", {{"file", gray_file}, {"range", r}}}};
}

} // namespace attnscope
