#pragma once
// What the program remembers between runs besides the window layout: the model path, the generation
// settings, the map display and the panel shares, as an [attnscope][state] entry of imgui.ini.
#include "ui.h"

namespace attnscope::gui {

// Registers the entry with the current ImGui context; call before the first frame. `state` must outlive it.
void register_settings(UiState& state);

} // namespace attnscope::gui
