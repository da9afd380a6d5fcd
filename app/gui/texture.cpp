#include "texture.h"

#include "colormap_shader.h"
#include "gl_api.h"
#include "map_writer.h"

#include <stdexcept>
#include <utility>

namespace attnscope::gui {

namespace {

uint64_t next_storage() {
    static uint64_t last = 0; // textures live on the UI thread only
    return ++last;
}

} // namespace

Texture::~Texture() {
    release();
}

Texture::Texture(Texture&& o) noexcept
    : id_(std::exchange(o.id_, 0)), framebuffer_(std::exchange(o.framebuffer_, 0)),
      width_(std::exchange(o.width_, 0)), height_(std::exchange(o.height_, 0)), format_(o.format_),
      storage_(std::exchange(o.storage_, 0)) {}

Texture& Texture::operator=(Texture&& o) noexcept {
    if (this != &o) {
        release();
        id_ = std::exchange(o.id_, 0);
        framebuffer_ = std::exchange(o.framebuffer_, 0);
        width_ = std::exchange(o.width_, 0);
        height_ = std::exchange(o.height_, 0);
        format_ = o.format_;
        storage_ = std::exchange(o.storage_, 0);
    }
    return *this;
}

void Texture::release() {
    if (framebuffer_) glDeleteFramebuffers(1, &framebuffer_);
    if (id_) glDeleteTextures(1, &id_);
}

bool Texture::reserve(int width, int height, TextureFormat format) {
    if (id_ && width == width_ && height == height_ && format == format_) return false;
    if (!id_) glGenTextures(1, &id_);
    set_nearest(format == TextureFormat::R32f); // binds it
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    if (format == TextureFormat::Rgba8)
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, width, height, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);
    else
        glTexImage2D(GL_TEXTURE_2D, 0, GL_R32F, width, height, 0, GL_RED, GL_FLOAT, nullptr);
    width_ = width;
    height_ = height;
    format_ = format;
    storage_ = next_storage();
    return true;
}

void Texture::upload_rgb(int width, int height, const uint8_t* rgb) {
    reserve(width, height, TextureFormat::Rgba8);
    glBindTexture(GL_TEXTURE_2D, id_);
    // Rows of RGB images of odd widths are not 4-byte aligned.
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, rgb);
}

void Texture::set_nearest(bool nearest) {
    glBindTexture(GL_TEXTURE_2D, id_);
    const GLint filter = nearest ? GL_NEAREST : GL_LINEAR;
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
}

unsigned Texture::framebuffer() {
    if (framebuffer_) return framebuffer_;
    GLint previous = 0;
    glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &previous);
    glGenFramebuffers(1, &framebuffer_);
    glBindFramebuffer(GL_FRAMEBUFFER, framebuffer_);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, id_, 0);
    const GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
    glBindFramebuffer(GL_FRAMEBUFFER, static_cast<GLuint>(previous));
    if (status != GL_FRAMEBUFFER_COMPLETE)
        throw std::runtime_error("OpenGL: a framebuffer on a " + std::to_string(width_) + "x" +
                                 std::to_string(height_) + " texture is incomplete (status " +
                                 std::to_string(status) + ")");
    return framebuffer_;
}

ImTextureID Texture::imgui_id() const {
    // Dear ImGui's OpenGL backend takes the GL texture name as its texture id.
    return reinterpret_cast<ImTextureID>(static_cast<intptr_t>(id_));
}

TexturePool::TexturePool() {
    entries_.reserve(kCapacity);
    slots_.fill(-1);
}

TexturePool::~TexturePool() = default;

MapTexture& TexturePool::take(size_t slot, int width, int height, bool cells) {
    int free_other = -1;
    int chosen = -1;
    for (size_t i = 0; i < entries_.size() && chosen < 0; ++i) {
        const auto& e = entries_[i];
        if (e.taken) continue;
        if (e.textures.values.width() == width && e.textures.values.height() == height)
            chosen = static_cast<int>(i);
        else if (free_other < 0)
            free_other = static_cast<int>(i);
    }
    if (chosen < 0 && entries_.size() < kCapacity) {
        entries_.emplace_back();
        chosen = static_cast<int>(entries_.size()) - 1;
    }
    if (chosen < 0) chosen = free_other;
    if (chosen < 0) throw std::logic_error("texture pool: every pair is taken");
    auto& e = entries_[static_cast<size_t>(chosen)];
    allocations_ += e.textures.values.reserve(width, height, TextureFormat::R32f);
    allocations_ += e.textures.colors.reserve(width, height, TextureFormat::Rgba8);
    e.textures.colors.set_nearest(cells);
    e.taken = true;
    slots_.at(slot) = chosen;
    return e.textures;
}

void TexturePool::release_slots() {
    for (auto& e : entries_) e.taken = false;
    slots_.fill(-1);
}

const Texture* TexturePool::find(size_t slot) const {
    const int i = slots_.at(slot);
    return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].textures.colors;
}

MapTexture* TexturePool::slot(size_t slot) {
    const int i = slots_.at(slot);
    return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].textures;
}

void TexturePool::set_pipeline(std::unique_ptr<ColormapShader> shader, std::unique_ptr<MapWriter> writer,
                               std::string writer_reason) {
    shader_ = std::move(shader);
    writer_ = std::move(writer);
    writer_reason_ = std::move(writer_reason);
}

} // namespace attnscope::gui
