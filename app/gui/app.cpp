// The window and its frame loop: GLFW + OpenGL 3.3 core + Dear ImGui.
#include "gui.h"
#include "layout.h"
#include "map_textures.h"
#include "screenshot.h"
#include "script.h"
#include "session/pipeline.h"
#include "settings.h"

#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <cfloat>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <malloc.h>
#include <memory>
#include <optional>

namespace attnscope::gui {

namespace {

std::string& glfw_error() {
    static std::string last;
    return last;
}

void on_glfw_error(int, const char* description) {
    glfw_error() = description;
}

struct GlfwLibrary {
    GlfwLibrary() {
        glfwSetErrorCallback(on_glfw_error);
        ok = glfwInit() == GLFW_TRUE;
    }
    ~GlfwLibrary() { glfwTerminate(); }
    GlfwLibrary(const GlfwLibrary&) = delete;
    GlfwLibrary& operator=(const GlfwLibrary&) = delete;
    bool ok = false;
};

struct WindowDeleter {
    void operator()(GLFWwindow* w) const { glfwDestroyWindow(w); }
};
using WindowPtr = std::unique_ptr<GLFWwindow, WindowDeleter>;

// Dear ImGui's context and its GLFW/OpenGL backends, torn down in reverse order.
struct ImGuiRuntime {
    explicit ImGuiRuntime(GLFWwindow* window) {
        IMGUI_CHECKVERSION();
        ImGui::CreateContext();
        ImGui_ImplGlfw_InitForOpenGL(window, true);
        ImGui_ImplOpenGL3_Init("#version 330 core");
    }
    ~ImGuiRuntime() {
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplGlfw_Shutdown();
        ImGui::DestroyContext();
    }
    ImGuiRuntime(const ImGuiRuntime&) = delete;
    ImGuiRuntime& operator=(const ImGuiRuntime&) = delete;
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
    GlfwLibrary glfw;
    if (!glfw.ok) {
        std::cerr << "attnscope gui: cannot open a window: " << glfw_error()
                  << "\n(no display? set DISPLAY, or run the headless job: attnscope shapes)\n";
        return 1;
    }
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    WindowPtr window(glfwCreateWindow(options.width, options.height, "attnscope", nullptr, nullptr));
    if (!window) {
        std::cerr << "attnscope gui: cannot open an OpenGL 3.3 window: " << glfw_error() << "\n";
        return 1;
    }
    glfwMakeContextCurrent(window.get());
    const bool scripted = !options.script.empty();
    glfwSwapInterval(scripted ? 0 : 1);

    try {
        std::optional<ScriptRunner> runner;
        if (scripted) runner.emplace(options.script, read_script(options.script));
        const Colormaps colormaps;
        // The worker allocates from the one arena whose freed memory the program keeps (app/cli/main.cpp's
        // mallopt): an arena of its own would hand CPU attention's P of hundreds of MB back to the system and
        // fault it in again at every call (3 tiny-model steps took 190 s instead of 60 s on 2 cores).
        mallopt(M_ARENA_MAX, 1);
        Worker worker({options.device, options.dtype});
        Ui ui{{}, worker, colormaps, {}};

        ImGuiRuntime imgui(window.get());
        const std::string ini = options.remember ? ini_path() : std::string();
        ImGui::GetIO().IniFilename = ini.empty() ? nullptr : ini.c_str();
        register_settings(ui.state);
        apply_style();

        bool started = false;
        int exit_code = 0;
        while (!glfwWindowShouldClose(window.get())) {
            // Scripts go as fast as the worker allows, but leave it the CPU while it works: without a GPU,
            // Mesa renders every frame on the same cores.
            if (scripted && !ui.state.snap.busy)
                glfwPollEvents();
            else
                glfwWaitEventsTimeout(ui.state.snap.busy ? 1.0 / (scripted ? 10 : 60) : 1.0 / 20);
            ui.state.snap = worker.snapshot();
            update_textures(ui);
            if (runner) {
                if (const auto rc = runner->tick(ui)) {
                    exit_code = *rc;
                    break;
                }
            }

            ImGui_ImplOpenGL3_NewFrame();
            ImGui_ImplGlfw_NewFrame();
            // Scripts do not use the pointer; where Xvfb leaves it would show tooltips and hover maps.
            if (scripted) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
            ImGui::NewFrame();
            // imgui.ini has been read by the first NewFrame: now the remembered model path is known.
            if (!started && !scripted) {
                started = true;
                if (!options.model.empty()) ui.state.model_path = options.model;
                if (ui.state.model_path.empty()) ui.state.model_path = default_model_path();
                worker.load(ui.state.model_path, ui.state.settings);
            }
            ui.state.regions.clear();
            draw_layout(ui);
            ImGui::Render();

            int fb_w = 0, fb_h = 0;
            glfwGetFramebufferSize(window.get(), &fb_w, &fb_h);
            glViewport(0, 0, fb_w, fb_h);
            glClearColor(0.06f, 0.06f, 0.07f, 1.0f);
            glClear(GL_COLOR_BUFFER_BIT);
            ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
            if (runner)
                if (const auto path = runner->take_screenshot())
                    save_screenshot(*path, fb_w, fb_h, ui.state.regions);
            glfwSwapBuffers(window.get());

            // A new prompt starts with its first token selected, so the maps show something at once.
            auto& view = ui.state.view;
            if (view.tokens.empty() && ui.state.snap.prompt_length > 2) view.tokens = {1};
            worker.request_view(view);
        }
        return exit_code;
    } catch (const std::exception& e) {
        std::cerr << "attnscope gui: " << e.what() << "\n";
        return 1;
    }
}

} // namespace attnscope::gui
