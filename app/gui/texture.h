#pragma once
// The GL textures the views draw, and the pool that keeps them across frames. A map reaches the GPU as raw
// values (an R32F texture written by a MapWriter: CUDA-GL interop or a host upload) and is coloured there
// (ColormapShader) into an RGBA8 texture, which Dear ImGui draws.
#include <array>
#include <cstddef>
#include <cstdint>
#include <imgui.h>
#include <memory>
#include <string>
#include <vector>

namespace attnscope::gui {

class ColormapShader;
class MapWriter;

enum class TextureFormat {
    Rgba8, // colours: filtered linearly when drawn
    R32f,  // raw values: read texel by texel
};

// One GL texture. Everything but the accessors needs the GL context current.
class Texture {
  public:
    Texture() = default;
    ~Texture();
    Texture(Texture&& o) noexcept;
    Texture& operator=(Texture&& o) noexcept;
    Texture(const Texture&) = delete;
    Texture& operator=(const Texture&) = delete;

    // Gives the texture storage of this size and format, keeping the current one when it matches. Returns
    // true when it allocated.
    bool reserve(int width, int height, TextureFormat format);
    // RGB pixels (the x0 preview, a colour table) into RGBA8 storage of their size.
    void upload_rgb(int width, int height, const uint8_t* rgb);
    // How it is sampled when drawn larger: linear (smooth maps, the default for colours) or nearest (grids
    // of cells).
    void set_nearest(bool nearest);
    // A framebuffer that draws into this texture, made on first use.
    unsigned framebuffer();

    bool valid() const { return id_ != 0 && width_ > 0; }
    unsigned id() const { return id_; }
    int width() const { return width_; }
    int height() const { return height_; }
    // Unique to the current storage among all textures: CUDA-GL registrations are made per storage.
    uint64_t storage() const { return storage_; }
    ImTextureID imgui_id() const;

  private:
    void release();
    unsigned id_ = 0, framebuffer_ = 0;
    int width_ = 0, height_ = 0;
    TextureFormat format_ = TextureFormat::Rgba8;
    uint64_t storage_ = 0;
};

// A map on the GPU, both textures of the map's size.
struct MapTexture {
    Texture values; // R32F, written by a MapWriter
    Texture colors; // RGBA8, painted from `values` by the colormap shader: what the panels draw
};

// The map slots of the views: the main map, the colour bar (a 256x1 ramp through the same shader) and the
// head tiles (up to 64 heads, then the mean and the max).
inline constexpr size_t kMainSlot = 0;
inline constexpr size_t kColorbarSlot = 1;
inline constexpr size_t kMaxHeadTiles = 66;
inline constexpr size_t head_slot(size_t tile) {
    return 2 + tile;
}
// Then the selection's map in two runs and their difference (a MapPair: a, b, diff) for the compare panel
// and for the branch view, its guidance halves and their difference for the guidance view, and the compare
// panel's divergence grids (self, then cross).
inline constexpr size_t kComparePair = head_slot(kMaxHeadTiles);
inline constexpr size_t kBranchPair = kComparePair + 3;
inline constexpr size_t kGuidancePair = kBranchPair + 3;
inline constexpr size_t kDivergenceSlot = kGuidancePair + 3;
// Last, the index thumbnails: one per site of the model's numbering (16 for SD v1/v2, 70 transformer blocks
// for SDXL), index 1 first.
inline constexpr size_t kMaxIndexTiles = 160;
inline constexpr size_t index_slot(int index) {
    return kDivergenceSlot + 1 + static_cast<size_t>(index);
}
inline constexpr size_t kMapSlots = index_slot(1) + kMaxIndexTiles;

// RGB images: the x0 preview, then the final images (a, b, difference) of the compare panel and of the
// branch view, then the LoRA sweep's strip.
inline constexpr size_t kPreviewImage = 0;
inline constexpr size_t kCompareImages = 1;
inline constexpr size_t kBranchImages = 4;
inline constexpr size_t kSweepImage = 7;
inline constexpr size_t kImageSlots = 8;

// Every GL object behind the views, kept across frames: the RGB images, the map textures by slot, and how
// maps are written (MapWriter) and coloured (ColormapShader). Map textures come from a pool of fixed
// capacity: a slot takes a free pair of its map's size, and a pair is made only when none is free, so once
// each size of the model has been seen, going through indices, heads and tokens allocates nothing. A pair
// is resized only when the pool is full, so CUDA registers each texture once.
class TexturePool {
  public:
    static constexpr size_t kCapacity = 256; // pairs; the views use at most kMapSlots at once

    TexturePool();
    ~TexturePool();
    TexturePool(const TexturePool&) = delete;
    TexturePool& operator=(const TexturePool&) = delete;

    Texture& image(size_t slot) { return images_.at(slot); }
    // nullptr before an image has been uploaded.
    const Texture* find_image(size_t slot) const {
        return images_.at(slot).valid() ? &images_[slot] : nullptr;
    }

    // Gives `slot` a pair of this size not taken since the last release_slots() (a pair of another size
    // is resized when the pool is full); `cells` draws its colours texel by texel.
    MapTexture& take(size_t slot, int width, int height, bool cells = false);
    // Frees every slot's pair for the next take(); the textures keep their contents until then.
    void release_slots();
    // The slot's colours for the panels; nullptr when the slot holds no map.
    const Texture* find(size_t slot) const;
    MapTexture* slot(size_t slot);
    // GL texture storages the pool has allocated so far.
    size_t allocations() const { return allocations_; }

    // How maps are written and coloured, set once the GL context and the session's device are known
    // (update_textures). `writer_reason`: why the writer is not CUDA-GL interop (empty when it is).
    void set_pipeline(std::unique_ptr<ColormapShader> shader, std::unique_ptr<MapWriter> writer,
                      std::string writer_reason);
    ColormapShader* shader() const { return shader_.get(); }
    MapWriter* writer() const { return writer_.get(); }
    const std::string& writer_reason() const { return writer_reason_; }

  private:
    struct Entry {
        MapTexture textures;
        bool taken = false;
    };
    std::array<Texture, kImageSlots> images_;
    std::vector<Entry> entries_; // capacity reserved up front: references stay valid
    std::array<int, kMapSlots> slots_;
    size_t allocations_ = 0;
    // After the textures: destroyed first, so CUDA registrations go before the textures they name.
    std::unique_ptr<ColormapShader> shader_;
    std::unique_ptr<MapWriter> writer_;
    std::string writer_reason_;
};

} // namespace attnscope::gui
