#pragma once
// What the visualizer's frames are drawn into and how input and time reach Dear ImGui: a GLFW window, or an
// offscreen framebuffer in a headless EGL context, for scripts on machines without a display (the GPU
// machine has no X server; EGL there gives an NVIDIA context, so CUDA-GL interop is tested too).
#include <memory>
#include <string>

namespace attnscope::gui {

class Surface {
  public:
    virtual ~Surface() = default;

    // Dear ImGui's platform side; the context must exist. Paired calls, around the frame loop.
    virtual void start_imgui() = 0;
    virtual void stop_imgui() = 0;

    virtual bool closed() const = 0;
    // Lets input arrive, for at most `seconds` (0: only what is there).
    virtual void wait(double seconds) = 0;
    // Before ImGui::NewFrame: the platform's frame (size, time, input), and the framebuffer bound.
    virtual void new_frame() = 0;
    virtual int width() const = 0; // the framebuffer, in pixels
    virtual int height() const = 0;
    // After drawing: shows the frame. Offscreen, waits until the GPU has drawn it, so a frame's measured time
    // includes the drawing.
    virtual void present() = 0;
    // "window" or "offscreen (EGL, renderer ...)": where scripts' frame statistics were taken.
    virtual std::string describe() const = 0;
};

// An OpenGL 3.3 core window with its context current; `vsync` paces frames by the display. Throws
// std::runtime_error saying why none can be opened (no display, no GL 3.3).
std::unique_ptr<Surface> open_window(int width, int height, bool vsync);

// A surfaceless EGL context (current) drawing into a framebuffer of this size. Throws std::runtime_error
// saying why there is none.
std::unique_ptr<Surface> open_offscreen(int width, int height);

} // namespace attnscope::gui
