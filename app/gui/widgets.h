#pragma once
// Drawing pieces several panels share.
#include "ui.h"

#include <array>
#include <string>

namespace attnscope::gui {

inline constexpr float kColorbarWidth = 70; // the ramp and its labels

// The colormap's ramp (kColorbarSlot) upright at `at`, `height` tall, high values at the top, with five
// labels spanning `range`; records the region `name`.
void colorbar(Ui& ui, ImVec2 at, float height, ValueRange range, const std::string& name);

// Three images side by side in a row `width` wide (a, b and their difference), each keeping `aspect`, a
// caption above each; records the regions NAME_a, NAME_b and NAME_diff. A null texture leaves its place
// empty. Returns the images' height.
float image_row(UiState& s, const std::array<const Texture*, 3>& textures,
                const std::array<std::string, 3>& captions, float aspect, float width,
                const std::string& name);

// A line of text in the error colour.
void error_text(const std::string& text);

} // namespace attnscope::gui
