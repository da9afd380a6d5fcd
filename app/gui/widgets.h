#pragma once
// Drawing pieces several panels share.
#include "ui.h"

#include <array>
#include <string>
#include <vector>

namespace attnscope::gui {

inline constexpr float kColorbarWidth = 70; // the ramp and its labels

// The colormap's ramp (kColorbarSlot) upright at `at`, `height` tall, high values at the top, with five
// labels spanning `range`; records the region `name`. A `title` (what the values are) takes the top line.
void colorbar(Ui& ui, ImVec2 at, float height, ValueRange range, const std::string& name,
              const std::string& title = "");

// One series of a bar chart: a value per bar (non-negative), in `colour`.
struct BarSeries {
    const std::vector<double>* values;
    ImU32 colour;
};

// Bars `size` big at the cursor, bar i of every series at the same place, later series drawn over earlier
// ones (give them alpha to see both), all scaled to the largest value there is; records the region `name`.
// Returns the bar under the mouse, or -1.
int bar_chart(UiState& s, const std::string& name, ImVec2 size, const std::vector<BarSeries>& series);

// ImGui::SameLine() when an item `width` wide still fits on the line, else a new line.
void same_line_if_fits(float width);

// The colour of a token's role: the token chips', the token mass bars'.
ImVec4 role_color(TokenRole role);

// Three images side by side in a row `width` wide (a, b and their difference), each keeping `aspect`, a
// caption above each; records the regions NAME_a, NAME_b and NAME_diff. A null texture leaves its place
// empty. Returns the images' height.
float image_row(UiState& s, const std::array<const Texture*, 3>& textures,
                const std::array<std::string, 3>& captions, float aspect, float width,
                const std::string& name);

// A line of text in the error colour.
void error_text(const std::string& text);

} // namespace attnscope::gui
