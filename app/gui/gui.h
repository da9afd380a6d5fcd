#pragma once
// The visualizer's entry points for the command line: `attnscope gui`, and `attnscope` with no command
// when a display is there.
#include <string>
#include <vector>

namespace attnscope::gui {

struct GuiOptions {
    std::string model;  // load this at start (default: the last one used, else the embedded model)
    std::string script; // run these commands, then exit (see script.h)
    int width = 1600, height = 1000;
    std::string device;     // empty: cuda where LibTorch sees a GPU, else cpu
    std::string dtype;      // empty: the device's default
    bool remember = true;   // read and write imgui.ini (layout and settings); off for scripts
    bool offscreen = false; // draw into a headless EGL context instead of a window (scripts only)
    bool tf32 = false;      // --tf32: fp32 on CUDA may use TF32 (gui_command has turned it on)
};

// Runs the window until it is closed or the script ends. Returns the exit code: 1 when no window can be
// opened (with a message saying why) or the script fails.
int run_gui(const GuiOptions& options);

// `attnscope gui [--model PATH] [--script FILE [--offscreen]] [--window WxH] [--device cpu|cuda] [--tf32]
// [--dtype f32|f16|bf16] [--no-remember]`; `--help` lists them. A bad option throws cli::UsageError, which
// main reports with exit code 2.
int gui_command(const std::vector<std::string>& args);

// Whether a window could be opened here: an X11 or Wayland display is named and answers.
bool display_available();

} // namespace attnscope::gui
