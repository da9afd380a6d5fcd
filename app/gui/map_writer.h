#pragma once
// How a map's values reach its GL texture (an R32F MapTexture::values of the map's size). Two writers
// behind one interface: CUDA-GL interop copies CUDA memory into the texture on the GPU, with no host round
// trip; the host upload (glTexSubImage2D) works everywhere: CPU sessions, builds without CUDA, Mesa, GL on
// another GPU. choose_map_writer() takes interop when it can work and says why not otherwise.
#include "texture.h"
#include "view_data.h"

#include <memory>
#include <string>
#include <vector>

namespace attnscope::gui {

// One map's values and the texture they go to.
struct MapWrite {
    const ViewMap* map;
    const Texture* values;
};

class MapWriter {
  public:
    virtual ~MapWriter() = default;
    // Writes each map's values into its texture (GL context current). All of a frame's maps come in one call:
    // interop then maps every texture for CUDA at once, and each mapping waits for the GPU.
    virtual void write(const std::vector<MapWrite>& writes) = 0;
    // Whether maps may come in CUDA memory only (the worker then leaves them on the GPU).
    virtual bool takes_device_maps() const = 0;
    virtual const std::string& describe() const = 0; // for the status bar
};

// glTexSubImage2D of the map's host values.
class HostUpload final : public MapWriter {
  public:
    void write(const std::vector<MapWrite>& writes) override;
    bool takes_device_maps() const override { return false; }
    const std::string& describe() const override { return description_; }

  private:
    std::string description_ = "host upload";
};

struct WriterChoice {
    std::unique_ptr<MapWriter> writer;
    std::string reason; // why not CUDA-GL interop; empty when it is
};

// For a session on `device` ("cpu", "cuda", "cuda:N"), with the GL context current: CUDA-GL interop when
// this build has CUDA, the device exists and the context runs on it; else the host upload.
WriterChoice choose_map_writer(const std::string& device);

} // namespace attnscope::gui
