#include "colormap_shader.h"

#include "gl_api.h"
#include "shader_sources.h"

#include <stdexcept>
#include <string>

namespace attnscope::gui {

namespace {

// A compiled shader stage, deleted once the program is linked.
class Stage {
  public:
    Stage(GLenum type, const char* source, const char* name) : id_(glCreateShader(type)) {
        glShaderSource(id_, 1, &source, nullptr);
        glCompileShader(id_);
        GLint ok = GL_FALSE;
        glGetShaderiv(id_, GL_COMPILE_STATUS, &ok);
        if (!ok) {
            char log[2048] = {};
            glGetShaderInfoLog(id_, sizeof log, nullptr, log);
            glDeleteShader(id_);
            throw std::runtime_error(std::string("OpenGL: shaders/") + name + " does not compile: " + log);
        }
    }
    ~Stage() { glDeleteShader(id_); }
    Stage(const Stage&) = delete;
    Stage& operator=(const Stage&) = delete;
    GLuint id() const { return id_; }

  private:
    GLuint id_;
};

GLuint link_program() {
    const Stage vertex(GL_VERTEX_SHADER, kColormapVert, "colormap.vert");
    const Stage fragment(GL_FRAGMENT_SHADER, kColormapFrag, "colormap.frag");
    const GLuint program = glCreateProgram();
    glAttachShader(program, vertex.id());
    glAttachShader(program, fragment.id());
    glLinkProgram(program);
    GLint ok = GL_FALSE;
    glGetProgramiv(program, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[2048] = {};
        glGetProgramInfoLog(program, sizeof log, nullptr, log);
        glDeleteProgram(program);
        throw std::runtime_error(std::string("OpenGL: the colormap shaders do not link: ") + log);
    }
    glDetachShader(program, vertex.id());
    glDetachShader(program, fragment.id());
    return program;
}

// The state paint() changes, put back when it is done: it runs between Dear ImGui's frames.
class SavedState {
  public:
    SavedState() {
        glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &framebuffer_);
        glGetIntegerv(GL_VIEWPORT, viewport_);
        glGetIntegerv(GL_CURRENT_PROGRAM, &program_);
        glGetIntegerv(GL_VERTEX_ARRAY_BINDING, &vertex_array_);
        glGetIntegerv(GL_ACTIVE_TEXTURE, &active_texture_);
        for (int unit = 0; unit < 2; ++unit) {
            glActiveTexture(GL_TEXTURE0 + unit);
            glGetIntegerv(GL_TEXTURE_BINDING_2D, &textures_[unit]);
        }
        blend_ = glIsEnabled(GL_BLEND);
        scissor_ = glIsEnabled(GL_SCISSOR_TEST);
    }
    ~SavedState() {
        glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(framebuffer_));
        glViewport(viewport_[0], viewport_[1], viewport_[2], viewport_[3]);
        glUseProgram(static_cast<GLuint>(program_));
        glBindVertexArray(static_cast<GLuint>(vertex_array_));
        for (int unit = 0; unit < 2; ++unit) {
            glActiveTexture(GL_TEXTURE0 + unit);
            glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(textures_[unit]));
        }
        glActiveTexture(static_cast<GLenum>(active_texture_));
        if (blend_) glEnable(GL_BLEND);
        if (scissor_) glEnable(GL_SCISSOR_TEST);
    }
    SavedState(const SavedState&) = delete;
    SavedState& operator=(const SavedState&) = delete;

  private:
    GLint framebuffer_ = 0, viewport_[4] = {}, program_ = 0, vertex_array_ = 0, active_texture_ = 0;
    GLint textures_[2] = {};
    GLboolean blend_ = GL_FALSE, scissor_ = GL_FALSE;
};

} // namespace

ColormapShader::ColormapShader() : program_(link_program()) {
    glGenVertexArrays(1, &vertex_array_);
    glUseProgram(program_);
    glUniform1i(glGetUniformLocation(program_, "values"), 0);
    glUniform1i(glGetUniformLocation(program_, "lut"), 1);
    glUseProgram(0);
    lo_ = glGetUniformLocation(program_, "lo");
    hi_ = glGetUniformLocation(program_, "hi");
}

ColormapShader::~ColormapShader() {
    glDeleteVertexArrays(1, &vertex_array_);
    glDeleteProgram(program_);
}

void ColormapShader::set_lut(const Lut& lut) {
    static_assert(sizeof(Lut) == 256 * 3, "a colour table is 256 packed RGB triples");
    lut_.upload_rgb(256, 1, lut[0].data());
}

void ColormapShader::paint(MapTexture& map, float lo, float hi) {
    const SavedState saved;
    glBindFramebuffer(GL_FRAMEBUFFER, map.colors.framebuffer());
    glViewport(0, 0, map.colors.width(), map.colors.height());
    glDisable(GL_BLEND);
    glDisable(GL_SCISSOR_TEST);
    glUseProgram(program_);
    glUniform1f(lo_, lo);
    glUniform1f(hi_, hi);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, map.values.id());
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, lut_.id());
    glBindVertexArray(vertex_array_);
    glDrawArrays(GL_TRIANGLES, 0, 3);
}

} // namespace attnscope::gui
