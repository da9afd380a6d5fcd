// The frame loop: a surface (window or offscreen), OpenGL 3.3 core, Dear ImGui, the worker and a script.
#include "frame_clock.h"
#include "gl_api.h"
#include "gui.h"
#include "layout.h"
#include "map_textures.h"
#include "screenshot.h"
#include "script.h"
#include "session/pipeline.h"
#include "settings.h"
#include "surface.h"

#include <backends/imgui_impl_opengl3.h>
#include <cfloat>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <malloc.h>
#include <memory>
#include <optional>
#include <string>

namespace attnscope::gui {

namespace {

// Dear ImGui's context with its platform (the surface's) and OpenGL backends, torn down in reverse order.
struct ImGuiRuntime {
    explicit ImGuiRuntime(Surface& surface) : surface(surface) {
        IMGUI_CHECKVERSION();
        ImGui::CreateContext();
        surface.start_imgui();
        ImGui_ImplOpenGL3_Init("#version 330 core");
    }
    ~ImGuiRuntime() {
        ImGui_ImplOpenGL3_Shutdown();
        surface.stop_imgui();
        ImGui::DestroyContext();
    }
    ImGuiRuntime(const ImGuiRuntime&) = delete;
    ImGuiRuntime& operator=(const ImGuiRuntime&) = delete;
    Surface& surface;
};

// Under $XDG_CONFIG_HOME (or ~/.config)/attnscope; empty when neither is known.
std::string ini_path() {
    std::filesystem::path dir;
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
        dir = x;
    else if (const char* h = std::getenv("HOME"); h && *h)
        dir = std::filesystem::path(h) / ".config";
    else
        return {};
    std::error_code ec;
    std::filesystem::create_directories(dir / "attnscope", ec);
    return ec ? std::string() : (dir / "attnscope" / "imgui.ini").string();
}

// Whether OpenGL draws on the CPU (Mesa's llvmpipe or softpipe, as on a machine without a GPU): then every
// frame takes the cores the model runs on.
bool software_renderer() {
    const auto* r = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
    const std::string name = r ? r : "";
    for (const char* soft : {"llvmpipe", "softpipe", "swrast", "SwiftShader"})
        if (name.find(soft) != std::string::npos) return true;
    return false;
}

void apply_style() {
    ImGui::StyleColorsDark();
    auto& style = ImGui::GetStyle();
    style.WindowRounding = 0;
    style.FrameRounding = 3;
    // A fixed panel colour: the scripted tests look for it.
    style.Colors[ImGuiCol_WindowBg] = ImVec4(0.11f, 0.12f, 0.14f, 1.0f);
}

} // namespace

int run_gui(const GuiOptions& options) {
    const bool scripted = !options.script.empty();
    try {
        // A malformed script is reported before anything opens.
        const auto script = scripted ? read_script(options.script) : std::vector<ScriptLine>();
        const auto surface = options.offscreen ? open_offscreen(options.width, options.height)
                                               : open_window(options.width, options.height, !scripted);
        FrameClock clock;
        std::optional<ScriptRunner> runner;
        if (scripted) runner.emplace(options.script, script, clock, surface->describe());
        const Colormaps colormaps;
        // The worker allocates from the one arena whose freed memory the program keeps (app/cli/main.cpp's
        // mallopt): an arena of its own would hand CPU attention's P of hundreds of MB back to the system and
        // fault it in again at every call (3 tiny-model steps took 190 s instead of 60 s on 2 cores).
        mallopt(M_ARENA_MAX, 1);
        Worker worker({options.device, options.dtype});
        Ui ui{{}, worker, colormaps, {}};

        ImGuiRuntime imgui(*surface);
        const std::string ini = options.remember ? ini_path() : std::string();
        ImGui::GetIO().IniFilename = ini.empty() ? nullptr : ini.c_str();
        register_settings(ui.state);
        apply_style();

        // While the model runs: 60 frames a second, or 30 where drawing takes the model's cores (a 2-core VM
        // with llvmpipe: 60 doubled the step time of the tiny model, 30 costs it a tenth).
        const double busy_period = software_renderer() ? 1.0 / 30 : 1.0 / 60;
        bool started = false;
        int exit_code = 0;
        while (!surface->closed()) {
            const bool busy = ui.state.snap.busy;
            // A frame every busy_period while the worker runs (the display's vsync paces it too), every 1/20
            // s or at the next input when idle: waits count from the last frame's start, so a frame that took
            // 10 ms waits 6.7 ms, not 16.7 (which held the window at 30 fps while stepping).
            surface->wait(clock.until_next(runner ? runner->frame_period(busy)
                                           : busy ? busy_period
                                                  : 1.0 / 20));
            clock.frame_started();
            ui.state.snap = worker.snapshot();
            update_textures(ui);
            if (runner) {
                if (const auto rc = runner->tick(ui)) {
                    exit_code = *rc;
                    break;
                }
            }

            ImGui_ImplOpenGL3_NewFrame();
            surface->new_frame();
            // Scripts do not use the pointer; where Xvfb leaves it would show tooltips and hover maps.
            if (scripted) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
            ImGui::NewFrame();
            // imgui.ini has been read by the first NewFrame: now the remembered model path is known.
            if (!started && !scripted) {
                started = true;
                if (!options.model.empty()) ui.state.model_path = options.model;
                if (ui.state.model_path.empty()) ui.state.model_path = default_model_path();
                worker.load(ui.state.model_path, ui.state.loras, ui.state.settings);
            }
            ui.state.regions.clear();
            draw_layout(ui);
            ImGui::Render();

            const int fb_w = surface->width(), fb_h = surface->height();
            glViewport(0, 0, fb_w, fb_h);
            glClearColor(0.06f, 0.06f, 0.07f, 1.0f);
            glClear(GL_COLOR_BUFFER_BIT);
            ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
            if (runner)
                if (const auto path = runner->take_screenshot())
                    save_screenshot(*path, fb_w, fb_h, ui.state.regions);
            clock.frame_drawn();
            surface->present();
            clock.frame_finished();

            // A new prompt starts with its first token selected, so the maps show something at once.
            auto& view = ui.state.view;
            if (view.tokens.empty() && ui.state.snap.prompt_length > 2) view.tokens = {1};
            fit_head_to_index(ui.state);
            worker.request_view(view);
        }
        return exit_code;
    } catch (const std::exception& e) {
        std::cerr << "attnscope gui: " << e.what() << "\n";
        return 1;
    }
}

} // namespace attnscope::gui
