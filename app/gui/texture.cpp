#include "texture.h"

#include <GL/gl.h>
#include <utility>

namespace attnscope::gui {

Texture::~Texture() {
    if (id_) glDeleteTextures(1, &id_);
}

Texture::Texture(Texture&& o) noexcept
    : id_(std::exchange(o.id_, 0)), width_(std::exchange(o.width_, 0)), height_(std::exchange(o.height_, 0)) {
}

Texture& Texture::operator=(Texture&& o) noexcept {
    if (this != &o) {
        if (id_) glDeleteTextures(1, &id_);
        id_ = std::exchange(o.id_, 0);
        width_ = std::exchange(o.width_, 0);
        height_ = std::exchange(o.height_, 0);
    }
    return *this;
}

void Texture::upload_rgba(int width, int height, const uint8_t* rgba, bool smooth) {
    upload(width, height, rgba, GL_RGBA, smooth);
}

void Texture::upload_rgb(int width, int height, const uint8_t* rgb, bool smooth) {
    upload(width, height, rgb, GL_RGB, smooth);
}

void Texture::upload(int width, int height, const uint8_t* pixels, unsigned format, bool smooth) {
    if (!id_) glGenTextures(1, &id_);
    glBindTexture(GL_TEXTURE_2D, id_);
    const GLint filter = smooth ? GL_LINEAR : GL_NEAREST;
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    // Rows of RGB images of odd widths are not 4-byte aligned.
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    if (width != width_ || height != height_) {
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, format, GL_UNSIGNED_BYTE, pixels);
        width_ = width;
        height_ = height;
    } else {
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, format, GL_UNSIGNED_BYTE, pixels);
    }
}

ImTextureID Texture::imgui_id() const {
    // Dear ImGui's OpenGL backend takes the GL texture name as its texture id.
    return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(id_));
}

const Texture* TexturePool::find(const std::string& name) const {
    const auto it = textures_.find(name);
    return it == textures_.end() || !it->second.valid() ? nullptr : &it->second;
}

} // namespace attnscope::gui
