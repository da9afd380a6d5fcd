// The CUDA runtime API only, no LibTorch: the maps arrive as plain device pointers (ViewMap::device).
#include "map_writer_cuda.h"

#include "gl_api.h" // before cuda_gl_interop.h, which includes GL/gl.h

#include <algorithm>
#include <cuda_gl_interop.h>
#include <cuda_runtime_api.h>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

namespace attnscope::gui {

namespace {

std::string cuda_message(const char* call, cudaError_t e) {
    return std::string(call) + ": " + cudaGetErrorString(e);
}

void check(cudaError_t e, const char* call) {
    if (e != cudaSuccess) throw std::runtime_error("CUDA-GL interop: " + cuda_message(call, e));
}

// A GL texture registered with CUDA, valid for the texture's storage at registration.
class Registration {
  public:
    explicit Registration(const Texture& texture) : storage_(texture.storage()) {
        check(cudaGraphicsGLRegisterImage(&resource_, texture.id(), GL_TEXTURE_2D,
                                          cudaGraphicsRegisterFlagsWriteDiscard),
              "cudaGraphicsGLRegisterImage");
    }
    ~Registration() { cudaGraphicsUnregisterResource(resource_); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

    cudaGraphicsResource_t resource() const { return resource_; }
    uint64_t storage() const { return storage_; }

  private:
    cudaGraphicsResource_t resource_ = nullptr;
    uint64_t storage_;
};

// A stream of the UI thread's own that does not wait for the legacy default stream, where LibTorch queues the
// worker's U-Net: on it, a texture write waits for nothing but itself (on the default stream it waited for
// the step in flight, 19 ms frames while playing SD v1.5 on an H100).
class Stream {
  public:
    Stream() {
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    }
    ~Stream() { cudaStreamDestroy(stream_); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    cudaStream_t get() const { return stream_; }

  private:
    cudaStream_t stream_ = nullptr;
};

// Registered textures mapped for CUDA together, for one scope: each mapping waits for the GPU's work on them,
// so a frame's maps are mapped in one call. Unmapping orders CUDA's writes before GL's next use.
class Mapping {
  public:
    Mapping(std::vector<cudaGraphicsResource_t> resources, cudaStream_t stream)
        : resources_(std::move(resources)), stream_(stream) {
        check(cudaGraphicsMapResources(static_cast<int>(resources_.size()), resources_.data(), stream_),
              "cudaGraphicsMapResources");
    }
    ~Mapping() {
        cudaGraphicsUnmapResources(static_cast<int>(resources_.size()), resources_.data(), stream_);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    cudaArray_t array(size_t i) const {
        cudaArray_t array = nullptr;
        check(cudaGraphicsSubResourceGetMappedArray(&array, resources_.at(i), 0, 0),
              "cudaGraphicsSubResourceGetMappedArray");
        return array;
    }

  private:
    std::vector<cudaGraphicsResource_t> resources_;
    cudaStream_t stream_;
};

class CudaInterop final : public MapWriter {
  public:
    explicit CudaInterop(int device)
        : device_(device), description_("CUDA-GL interop (cuda:" + std::to_string(device) + ")") {}

    void write(const std::vector<MapWrite>& writes) override {
        std::vector<MapWrite> on_host, on_device;
        // The colour bar's ramp, and maps made before the worker heard of interop, are on the host.
        for (const auto& w : writes) (w.map->on_device() ? on_device : on_host).push_back(w);
        host_.write(on_host);
        if (on_device.empty()) return;
        check(cudaSetDevice(device_), "cudaSetDevice");
        if (!stream_) stream_ = std::make_unique<Stream>();
        std::vector<cudaGraphicsResource_t> resources;
        for (const auto& [map, values] : on_device) {
            if (map->device.device != device_)
                throw std::runtime_error(
                    "CUDA-GL interop: a map on cuda:" + std::to_string(map->device.device) +
                    ", GL on cuda:" + std::to_string(device_));
            resources.push_back(registration(*values).resource());
        }
        // The maps are complete: the worker publishes maps only after copying their extremes (or values) to
        // the host, which waits for everything queued before.
        {
            const Mapping mapping(std::move(resources), stream_->get());
            for (size_t i = 0; i < on_device.size(); ++i) {
                const auto& map = *on_device[i].map;
                const size_t row = static_cast<size_t>(map.width) * sizeof(float);
                check(cudaMemcpy2DToArrayAsync(mapping.array(i), 0, 0, map.device.data, row, row,
                                               static_cast<size_t>(map.height), cudaMemcpyDeviceToDevice,
                                               stream_->get()),
                      "cudaMemcpy2DToArrayAsync");
            }
        }
        // The maps' memory goes back to LibTorch's allocator as soon as the UI drops them.
        check(cudaStreamSynchronize(stream_->get()), "cudaStreamSynchronize");
    }
    bool takes_device_maps() const override { return true; }
    const std::string& describe() const override { return description_; }

  private:
    // Registered once per texture storage: the pool keeps its textures' sizes, so once per texture.
    const Registration& registration(const Texture& texture) {
        const auto it = registrations_.find(texture.id());
        if (it != registrations_.end()) {
            if (it->second.storage() == texture.storage()) return it->second;
            registrations_.erase(it);
        }
        return registrations_.try_emplace(texture.id(), texture).first->second;
    }

    int device_;
    std::string description_;
    HostUpload host_;
    std::unique_ptr<Stream> stream_; // made on the first write, on the writer's device
    std::unordered_map<unsigned, Registration> registrations_; // by GL texture name
};

} // namespace

std::unique_ptr<MapWriter> make_cuda_interop_writer(int device, std::string& why_not) {
    int count = 0;
    if (const auto e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0) {
        why_not =
            "no CUDA device" + (e != cudaSuccess ? " (" + std::string(cudaGetErrorString(e)) + ")" : "");
        cudaGetLastError();
        return nullptr;
    }
    if (device < 0 || device >= count) {
        why_not =
            "there is no cuda:" + std::to_string(device) + " (" + std::to_string(count) + " CUDA devices)";
        return nullptr;
    }
    unsigned gl_count = 0;
    int gl_devices[16] = {};
    if (cudaGLGetDevices(&gl_count, gl_devices, 16, cudaGLDeviceListAll) != cudaSuccess || gl_count == 0) {
        const auto* renderer = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
        why_not = std::string("the GL context is not on an NVIDIA GPU (renderer: ") +
                  (renderer ? renderer : "unknown") + ")";
        cudaGetLastError();
        return nullptr;
    }
    int* const gl_end = gl_devices + std::min(gl_count, 16u);
    if (std::find(gl_devices, gl_end, device) == gl_end) {
        why_not = "GL runs on cuda:" + std::to_string(gl_devices[0]) +
                  ", the session on cuda:" + std::to_string(device);
        return nullptr;
    }
    // Registering is what fails when this driver cannot share the context's textures: try one now rather
    // than at the first map.
    try {
        check(cudaSetDevice(device), "cudaSetDevice");
        Texture probe;
        probe.reserve(1, 1, TextureFormat::R32f);
        const Registration registration(probe);
    } catch (const std::runtime_error& e) {
        why_not = e.what();
        cudaGetLastError();
        return nullptr;
    }
    return std::make_unique<CudaInterop>(device);
}

} // namespace attnscope::gui
