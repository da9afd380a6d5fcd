// The visualizer's window: GLFW with an OpenGL 3.3 core context, and Dear ImGui's GLFW backend for input.
#include "surface.h"

#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <stdexcept>

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
        if (glfwInit() != GLFW_TRUE)
            throw std::runtime_error("cannot open a window: " + glfw_error() +
                                     "\n(no display? set DISPLAY, run a script with --offscreen, or run the "
                                     "headless job: attnscope shapes)");
    }
    ~GlfwLibrary() { glfwTerminate(); }
    GlfwLibrary(const GlfwLibrary&) = delete;
    GlfwLibrary& operator=(const GlfwLibrary&) = delete;
};

struct WindowDeleter {
    void operator()(GLFWwindow* w) const { glfwDestroyWindow(w); }
};

class WindowSurface : public Surface {
  public:
    WindowSurface(int width, int height, bool vsync) {
        glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
        glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
        glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
        glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
        window_.reset(glfwCreateWindow(width, height, "attnscope", nullptr, nullptr));
        if (!window_) throw std::runtime_error("cannot open an OpenGL 3.3 window: " + glfw_error());
        glfwMakeContextCurrent(window_.get());
        glfwSwapInterval(vsync ? 1 : 0);
    }

    void start_imgui() override { ImGui_ImplGlfw_InitForOpenGL(window_.get(), true); }
    void stop_imgui() override { ImGui_ImplGlfw_Shutdown(); }
    bool closed() const override { return glfwWindowShouldClose(window_.get()); }
    void wait(double seconds) override {
        if (seconds > 0)
            glfwWaitEventsTimeout(seconds);
        else
            glfwPollEvents();
    }
    void new_frame() override {
        glfwGetFramebufferSize(window_.get(), &width_, &height_);
        ImGui_ImplGlfw_NewFrame();
    }
    int width() const override { return width_; }
    int height() const override { return height_; }
    void present() override { glfwSwapBuffers(window_.get()); }
    std::string describe() const override { return "window"; }

  private:
    GlfwLibrary glfw_;
    std::unique_ptr<GLFWwindow, WindowDeleter> window_;
    int width_ = 0, height_ = 0;
};

} // namespace

std::unique_ptr<Surface> open_window(int width, int height, bool vsync) {
    return std::make_unique<WindowSurface>(width, height, vsync);
}

} // namespace attnscope::gui
