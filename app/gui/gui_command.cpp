#include "cli/device_options.h"
#include "gui.h"
#include "util/tf32.h"

#include <GLFW/glfw3.h>
#include <cstdio>
#include <cstdlib>

namespace attnscope::gui {

namespace {

GuiOptions parse(const cli::CommandLine& args) {
    GuiOptions o;
    o.model = args.get("model").value_or("");
    o.script = args.get("script").value_or("");
    o.remember = o.script.empty() && !args.given("no-remember");
    o.offscreen = args.given("offscreen");
    // Offscreen nobody can click: only a script can drive it.
    if (o.offscreen && o.script.empty()) throw cli::UsageError("--offscreen needs --script FILE");
    const auto window = args.value("window");
    if (std::sscanf(window.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width < 320 || o.height < 240 ||
        o.width > 8192 || o.height > 8192)
        throw cli::UsageError("bad --window '" + window + "': expected WxH, 320x240 to 8192x8192");
    // The worker takes "" for auto.
    o.device = args.value("device") == "auto" ? "" : args.value("device");
    o.dtype = args.get("dtype").value_or("");
    o.tf32 = args.given("tf32");
    return o;
}

} // namespace

int gui_command(const std::vector<std::string>& argv) {
    const GuiOptions defaults;
    cli::CommandLine args("gui", "The visualizer, in a window or, driven by a script, offscreen.");
    args.option("model", "PATH|preset:sd15",
                "load this at start (default: the last one used, else the embedded "
                "model)");
    args.option("script", "FILE", "run these commands, then exit (layout and settings are not remembered)");
    args.flag("offscreen", "draw into a headless EGL context instead of a window (with --script)");
    args.option("window", "WxH", "the window's size",
                std::to_string(defaults.width) + "x" + std::to_string(defaults.height));
    cli::add_device_options(args, "auto");
    args.option("dtype", "f32|f16|bf16", "the model's precision (default: f16 on a GPU, f32 on the CPU)");
    args.flag("no-remember", "neither read nor write imgui.ini (layout and settings)");
    if (!args.parse(argv)) return 0;
    const auto options = parse(args);
    if (options.tf32) set_tf32(true);
    return run_gui(options);
}

bool display_available() {
    bool named = false;
    for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"})
        if (const char* v = std::getenv(name); v && *v) named = true;
    if (!named) return false;
    // A display that is named but not there (a stale DISPLAY over ssh) counts as none.
    glfwSetErrorCallback(nullptr);
    const bool ok = glfwInit() == GLFW_TRUE;
    glfwTerminate();
    return ok;
}

} // namespace attnscope::gui
