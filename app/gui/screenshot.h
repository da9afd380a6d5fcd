#pragma once
// Saves what the window shows: the framebuffer as PNG, and next to it (PATH.json) the screen rectangles
// of the views, so tests can check regions without pixel-exact goldens.
#include "ui.h"

#include <map>
#include <string>

namespace attnscope::gui {

// Reads the back buffer of the current GL context (after rendering, before the swap). Throws
// std::runtime_error when a file cannot be written.
void save_screenshot(const std::string& path, int width, int height,
                     const std::map<std::string, Rect>& regions);

} // namespace attnscope::gui
