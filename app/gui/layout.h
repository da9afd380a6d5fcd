#pragma once
// The main window's fixed arrangement of panels (Dear ImGui 1.86 has no docking): a left column (model,
// teaching), a centre column (transport; the image, compare and branch views as tabs; tokens), a right
// column (index grid, heads) and a status bar. Dragging a panel's edge changes the shares, which imgui.ini
// keeps.
#include "ui.h"

namespace attnscope::gui {

void draw_layout(Ui& ui);

} // namespace attnscope::gui
