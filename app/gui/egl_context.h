#pragma once
// A headless OpenGL 3.3 core context through EGL: no display server, no window. Scripts run offscreen with it
// (attnscope gui --offscreen) and the GL tests use it. It picks the first NVIDIA EGL device (it names its
// CUDA device, so CUDA-GL interop can work), else the first device there is (Mesa's software renderer).
#include <EGL/egl.h>
#include <string>

namespace attnscope::gui {

class EglContext {
  public:
    EglContext(); // current on this thread when error() is empty
    ~EglContext();
    EglContext(const EglContext&) = delete;
    EglContext& operator=(const EglContext&) = delete;

    const std::string& error() const { return error_; } // why there is no context; empty when there is
    const std::string& renderer() const { return renderer_; }
    int cuda_device() const { return cuda_device_; } // -1: not an NVIDIA EGL device

  private:
    EGLDisplay display_ = EGL_NO_DISPLAY;
    EGLContext context_ = EGL_NO_CONTEXT;
    std::string error_, renderer_;
    int cuda_device_ = -1;
};

} // namespace attnscope::gui
