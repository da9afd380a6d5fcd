// U-Net forward time and peak memory for a full-size config with random weights, per attention backend.
//   bench_unet [--preset sd15|sd21|sdxl] [--size 512x512] [--batch 2] [--dtype f16] [--device cuda] [--iters
//   20]
//              [--backends sdpa,math,auto+graph] [--cudnn-benchmark 1] [--channels-last 1] [--profile 1]
// Prints one line per backend: median / min ms over the timed iterations (after warm-up) and peak memory. A
// backend named NAME+graph runs through UNetGraph: the step recorded once as a CUDA graph, then replayed.
// --cudnn-benchmark 1 lets cuDNN time its convolution algorithms on first use; --channels-last 1 runs the
// U-Net in NHWC memory (and prints how far its output is from the NCHW one's). --profile 1 runs one more
// pass per backend between gpu_profiler_start and _stop: under `ncu --profile-from-start off` that pass
// alone is profiled (tools/ncu_summary.py sums it up by kind of kernel).
#include "gpu_info.h"
#include "model/unet.h"
#include "model/unet_config.h"
#include "model/unet_graph.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>
#ifdef ATTNSCOPE_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + name) return argv[i + 1];
    return fallback;
}

} // namespace

int main(int argc, char** argv) try {
    using namespace attnscope;
    const std::string preset = arg(argc, argv, "preset", "sd15"), size = arg(argc, argv, "size", "512x512");
    const int batch = std::stoi(arg(argc, argv, "batch", "2")),
              iters = std::stoi(arg(argc, argv, "iters", "20"));
    const std::string dt = arg(argc, argv, "dtype", "f16");
    const auto dtype = dt == "f32" ? at::kFloat : dt == "bf16" ? at::kBFloat16 : at::kHalf;
    const at::Device device(arg(argc, argv, "device", "cuda"));
    const int w = std::stoi(size.substr(0, size.find('x'))), h = std::stoi(size.substr(size.find('x') + 1));

    if (arg(argc, argv, "cudnn-benchmark", "0") == "1") at::globalContext().setBenchmarkCuDNN(true);
    const auto config = unet_config_preset(preset);
    auto unet = UNet::random(config, 0, dtype, device);
    const auto opts = at::TensorOptions().dtype(dtype).device(device);
    const auto sample = at::randn({batch, 4, h / 8, w / 8}, opts);
    const auto context = at::randn({batch, 77, config.cross_attention_dim}, opts);
    const auto t = at::full({1}, 500.0, opts);
    const auto added = config.text_time()
                           ? default_text_time(at::randn({batch, config.pooled_text_dim()}, opts), w, h)
                           : AddedConditions{};
    std::printf("U-Net %s, %s, %dx%d, batch %d, %s on %s, %d timed iterations\n", preset.c_str(),
                config.describe().c_str(), w, h, batch, dt.c_str(), device.str().c_str(), iters);
    if (arg(argc, argv, "channels-last", "0") == "1") {
        AttentionRouter router;
        const auto nchw = unet.forward(sample, t, context, router, added).to(at::kFloat);
        unet.use_channels_last();
        const auto nhwc = unet.forward(sample, t, context, router, added).to(at::kFloat);
        std::printf("channels-last: output rel. L2 %.2e from NCHW's\n",
                    (nhwc - nchw).norm().item<double>() / nchw.norm().item<double>());
    }

    std::stringstream list(arg(argc, argv, "backends", "sdpa,math"));
    for (std::string run; std::getline(list, run, ',');) {
        const bool graphed = run.size() > 6 && run.compare(run.size() - 6, 6, "+graph") == 0;
        const std::string backend = graphed ? run.substr(0, run.size() - 6) : run;
        AttentionRouter router;
        router.set_default_backend(backend);
        UNetGraph graph;
#ifdef ATTNSCOPE_TORCH_CUDA
        if (device.is_cuda())
            c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
        std::vector<double> ms;
        for (int i = 0; i < iters + 3; ++i) {
            gpu_synchronize();
            const auto t0 = std::chrono::steady_clock::now();
            const auto out = graphed ? graph.forward(unet, sample, t, context, router, added)
                                     : unet.forward(sample, t, context, router, added);
            gpu_synchronize();
            if (i >= 3)
                ms.push_back(
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        if (arg(argc, argv, "profile", "0") == "1") {
            gpu_synchronize();
            gpu_profiler_start();
            if (graphed)
                graph.forward(unet, sample, t, context, router, added);
            else
                unet.forward(sample, t, context, router, added);
            gpu_synchronize();
            gpu_profiler_stop();
        }
        std::sort(ms.begin(), ms.end());
        double peak_mib = -1;
#ifdef ATTNSCOPE_TORCH_CUDA
        if (device.is_cuda()) {
            const auto stats =
                c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
            peak_mib = static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 20);
        }
#endif
        if (graphed && !graph.replayed()) throw std::runtime_error(run + " ran " + graph.why());
        std::printf("  backend %-10s median %8.2f ms  min %8.2f ms  (%.1f it/s)  peak allocated %.0f MiB "
                    "(weights %.0f MiB)\n",
                    run.c_str(), ms[ms.size() / 2], ms.front(), 1000.0 / ms[ms.size() / 2], peak_mib,
                    static_cast<double>(unet.weights().byte_size()) / (1 << 20));
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_unet: %s\n", e.what());
    return 1;
}
