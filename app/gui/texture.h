#pragma once
// GL textures the views draw: RGBA8 uploaded from host memory. A CUDA-GL interop path that writes maps
// straight from the GPU can come later behind the same interface.
#include <cstdint>
#include <imgui.h>
#include <map>
#include <string>

namespace attnscope::gui {

class Texture {
  public:
    Texture() = default;
    ~Texture();
    Texture(Texture&& o) noexcept;
    Texture& operator=(Texture&& o) noexcept;
    Texture(const Texture&) = delete;
    Texture& operator=(const Texture&) = delete;

    // Replaces the contents (reallocating when the size changes). Needs the GL context current.
    void upload_rgba(int width, int height, const uint8_t* rgba, bool smooth);
    void upload_rgb(int width, int height, const uint8_t* rgb, bool smooth);

    bool valid() const { return id_ != 0 && width_ > 0; }
    int width() const { return width_; }
    int height() const { return height_; }
    ImTextureID imgui_id() const;

  private:
    void upload(int width, int height, const uint8_t* pixels, unsigned format, bool smooth);
    unsigned id_ = 0;
    int width_ = 0, height_ = 0;
};

// Textures by name, created on first use and kept for the next frames.
class TexturePool {
  public:
    Texture& get(const std::string& name) { return textures_[name]; }
    const Texture* find(const std::string& name) const;

  private:
    std::map<std::string, Texture> textures_;
};

} // namespace attnscope::gui
