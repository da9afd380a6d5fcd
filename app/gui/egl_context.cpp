#include "egl_context.h"

#include "gl_api.h"

#include <EGL/eglext.h>
#include <cstring>

namespace attnscope::gui {

EglContext::EglContext() {
    const auto query_devices =
        reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(eglGetProcAddress("eglQueryDevicesEXT"));
    const auto device_string =
        reinterpret_cast<PFNEGLQUERYDEVICESTRINGEXTPROC>(eglGetProcAddress("eglQueryDeviceStringEXT"));
    const auto device_attrib =
        reinterpret_cast<PFNEGLQUERYDEVICEATTRIBEXTPROC>(eglGetProcAddress("eglQueryDeviceAttribEXT"));
    const auto platform_display =
        reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(eglGetProcAddress("eglGetPlatformDisplayEXT"));
    EGLDeviceEXT devices[16];
    EGLint count = 0;
    if (!query_devices || !device_string || !platform_display || !query_devices(16, devices, &count) ||
        count == 0) {
        error_ = "no EGL device (EGL_EXT_device_enumeration)";
        return;
    }
    EGLDeviceEXT device = devices[0];
    for (EGLint i = 0; i < count; ++i) {
        const char* extensions = device_string(devices[i], EGL_EXTENSIONS);
        EGLAttrib cuda = -1;
        if (extensions && std::strstr(extensions, "EGL_NV_device_cuda") && device_attrib &&
            device_attrib(devices[i], EGL_CUDA_DEVICE_NV, &cuda)) {
            device = devices[i];
            cuda_device_ = static_cast<int>(cuda);
            break;
        }
    }
    display_ = platform_display(EGL_PLATFORM_DEVICE_EXT, device, nullptr);
    if (display_ == EGL_NO_DISPLAY || !eglInitialize(display_, nullptr, nullptr)) {
        error_ = "eglInitialize failed";
        return;
    }
    const EGLint config_attributes[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE,
                                        EGL_OPENGL_BIT, EGL_NONE};
    EGLConfig config = nullptr;
    EGLint configs = 0;
    const EGLint context_attributes[] = {EGL_CONTEXT_MAJOR_VERSION,
                                         3,
                                         EGL_CONTEXT_MINOR_VERSION,
                                         3,
                                         EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                         EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                         EGL_NONE};
    if (!eglBindAPI(EGL_OPENGL_API) || !eglChooseConfig(display_, config_attributes, &config, 1, &configs) ||
        configs == 0) {
        error_ = "no EGL config for desktop OpenGL";
        return;
    }
    context_ = eglCreateContext(display_, config, EGL_NO_CONTEXT, context_attributes);
    // Maps are drawn into framebuffers only: no surface (EGL_KHR_surfaceless_context).
    if (context_ == EGL_NO_CONTEXT || !eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_)) {
        error_ = "no surfaceless OpenGL 3.3 core context (EGL error " + std::to_string(eglGetError()) + ")";
        return;
    }
    renderer_ = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
}
EglContext::~EglContext() {
    if (context_ != EGL_NO_CONTEXT) {
        eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
        eglDestroyContext(display_, context_);
    }
    if (display_ != EGL_NO_DISPLAY) eglTerminate(display_);
}

} // namespace attnscope::gui
