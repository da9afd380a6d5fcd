// Frames drawn into a texture in a headless EGL context: scripted runs where no display server is. No input
// reaches it; Dear ImGui gets the size and the time from here instead of a platform backend.
#include "egl_context.h"
#include "gl_api.h"
#include "surface.h"
#include "texture.h"

#include <algorithm>
#include <chrono>
#include <imgui.h>
#include <stdexcept>
#include <thread>

namespace attnscope::gui {

namespace {

using Clock = std::chrono::steady_clock;

class OffscreenSurface : public Surface {
  public:
    OffscreenSurface(int width, int height) : width_(width), height_(height) {
        if (!context_.error().empty())
            throw std::runtime_error("no offscreen OpenGL context: " + context_.error());
        target_.reserve(width, height, TextureFormat::Rgba8);
        target_.framebuffer(); // throws when this renderer cannot draw into it
    }

    void start_imgui() override { last_ = Clock::now(); }
    void stop_imgui() override {}
    bool closed() const override { return false; }
    void wait(double seconds) override {
        if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    }
    void new_frame() override {
        const auto now = Clock::now();
        auto& io = ImGui::GetIO();
        io.DisplaySize = ImVec2(static_cast<float>(width_), static_cast<float>(height_));
        io.DisplayFramebufferScale = ImVec2(1, 1);
        io.DeltaTime = std::max(1e-4f, std::chrono::duration<float>(now - last_).count());
        last_ = now;
        glBindFramebuffer(GL_FRAMEBUFFER, target_.framebuffer());
    }
    int width() const override { return width_; }
    int height() const override { return height_; }
    void present() override { glFinish(); }
    std::string describe() const override { return "offscreen (EGL, " + context_.renderer() + ")"; }

  private:
    EglContext context_;
    Texture target_;
    int width_, height_;
    Clock::time_point last_ = Clock::now();
};

} // namespace

std::unique_ptr<Surface> open_offscreen(int width, int height) {
    return std::make_unique<OffscreenSurface>(width, height);
}

} // namespace attnscope::gui
