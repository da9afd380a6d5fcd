#include "gui.h"

#include <GLFW/glfw3.h>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace attnscope::gui {

namespace {

GuiOptions parse(const std::vector<std::string>& args) {
    GuiOptions o;
    for (size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        const auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
            return args[++i];
        };
        if (a == "--model") {
            o.model = value();
        } else if (a == "--script") {
            o.script = value();
            o.remember = false;
        } else if (a == "--window") {
            const auto& v = value();
            if (std::sscanf(v.c_str(), "%dx%d", &o.width, &o.height) != 2 || o.width < 320 ||
                o.height < 240 || o.width > 8192 || o.height > 8192)
                throw std::invalid_argument("bad --window '" + v + "': expected WxH, 320x240 to 8192x8192");
        } else if (a == "--device") {
            o.device = value();
        } else if (a == "--dtype") {
            o.dtype = value();
        } else if (a == "--offscreen") {
            o.offscreen = true;
        } else if (a == "--no-remember") {
            o.remember = false;
        } else {
            throw std::invalid_argument("unknown option " + a);
        }
    }
    // Offscreen nobody can click: only a script can drive it.
    if (o.offscreen && o.script.empty()) throw std::invalid_argument("--offscreen needs --script FILE");
    return o;
}

} // namespace

int gui_command(const std::vector<std::string>& args) {
    GuiOptions options;
    try {
        options = parse(args);
    } catch (const std::invalid_argument& e) {
        std::cerr << "attnscope gui: " << e.what() << "\n";
        return 2;
    }
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
