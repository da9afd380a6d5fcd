#pragma once
// OpenGL 3.3 core entry points for the files that go past GL 1.1 (shaders, framebuffers, R32F textures).
// Linux's libGL (GLVND or Mesa) exports every core function, so the prototypes are used directly instead of
// a loader. Include this before any other GL header (cuda_gl_interop.h includes GL/gl.h itself).
#ifndef GL_GLEXT_PROTOTYPES
#define GL_GLEXT_PROTOTYPES 1
#endif
#include <GL/gl.h>
#include <GL/glext.h>
