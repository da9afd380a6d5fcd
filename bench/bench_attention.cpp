// Attention backends on every distinct site shape of SD v1 at 512x512 and SD v2 at 768x768 (batch 2,
// classifier-free guidance), plus the probe at index 1.
//   bench_attention [--iters 50] [--sets 4] [--dtypes f16,bf16]
// Each figure is the median of --iters calls timed with CUDA events after 5 warm-up calls; the calls
// rotate over --sets input sets so that K and V do not stay in L2 between calls. TFLOP/s counts
// 4*B*heads*Sq*Sk*d (the two matrix products), the same for every backend. On an sm_90 GPU that can run
// flash's wgmma path, two more columns time our flash kernel with its path pinned (=off: mma.sync,
// =force: wgmma), which is what its automatic choice between them rests on.
#include "attention/backend.h"
#include "attention/probe.h"
#include "attention/router.h"
#include "cuda_event_timing.h"
#include "flash_attention_sm90.h"
#include "model/unet_config.h"
#include "site_shapes.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace attnscope;
using bench::arg;
using bench::check_cuda;
using bench::median_ms;

struct Inputs {
    at::Tensor q, k, v;
};

} // namespace

int main(int argc, char** argv) try {
    const int iters = std::stoi(arg(argc, argv, "iters", "50")),
              sets = std::stoi(arg(argc, argv, "sets", "4"));
    if (!at::hasCUDA()) throw std::runtime_error("needs a CUDA device and a CUDA LibTorch");
    AttentionRouter router;
    const char* backends[] = {"flash", "sdpa", "math", "int8"};
    auto shapes = bench::distinct_site_shapes(unet_config_preset("sd15"), "v1", 64);
    for (auto& s : bench::distinct_site_shapes(unet_config_preset("sd21"), "v2", 96))
        shapes.push_back(std::move(s));
    for (auto& s : bench::distinct_site_shapes(unet_config_preset("sdxl"), "xl", 128)) // 1024x1024
        shapes.push_back(std::move(s));

    const char* sm90_env = std::getenv("ATTNSCOPE_FLASH_SM90");
    const std::string sm90_policy = sm90_env ? sm90_env : "auto";
    const std::string sm90_why = kernels::flash_sm90_unavailable_reason();
    const bool sm90 = sm90_why.empty();
    if (!sm90) std::printf("flash's wgmma path: %s\n", sm90_why.c_str());
    std::stringstream dtypes(arg(argc, argv, "dtypes", "f16,bf16"));
    for (std::string dt; std::getline(dtypes, dt, ',');) {
        const auto dtype = dt == "bf16" ? at::kBFloat16 : at::kHalf;
        std::printf("\n%s, batch 2, median of %d calls over %d rotating input sets (ms, TFLOP/s)\n",
                    dt.c_str(), iters, sets);
        std::printf("%-28s %-20s %15s %15s %15s %15s %9s", "sites", "B x h x Sq x Sk x d", "flash", "sdpa",
                    "math", "int8", "sdpa/flash");
        if (sm90) std::printf(" %15s %15s", "flash mma.sync", "flash wgmma");
        std::printf("\n");
        for (const auto& s : shapes) {
            const auto opts = at::TensorOptions().device(at::kCUDA).dtype(dtype);
            std::vector<Inputs> in;
            for (int i = 0; i < sets; ++i)
                in.push_back({at::randn({2, s.heads, s.seq_q, s.head_dim}, opts),
                              at::randn({2, s.heads, s.seq_k, s.head_dim}, opts),
                              at::randn({2, s.heads, s.seq_k, s.head_dim}, opts)});
            const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
            const double flops = 4.0 * 2 * s.heads * static_cast<double>(s.seq_q) * s.seq_k * s.head_dim;
            std::map<std::string, double> ms;
            for (const char* name : backends) {
                const auto& b = router.backend(name);
                ms[name] = median_ms(iters, [&](int i) {
                    const auto& x = in[i % sets];
                    b.run({x.q, x.k, x.v, scale, false, false});
                });
            }
            std::printf("%-28s %-20s", s.sites.c_str(), bench::shape_label(s).c_str());
            for (const char* name : backends) std::printf(" %7.4f %6.1f", ms[name], flops / ms[name] * 1e-9);
            std::printf(" %8.2fx", ms["sdpa"] / ms["flash"]);
            if (sm90) {
                for (const char* path : {"off", "force"}) {
                    ::setenv("ATTNSCOPE_FLASH_SM90", path, 1);
                    const double t = median_ms(iters, [&](int i) {
                        const auto& x = in[i % sets];
                        router.backend("flash").run({x.q, x.k, x.v, scale, false, false});
                    });
                    std::printf(" %7.4f %6.1f", t, flops / t * 1e-9);
                }
                ::setenv("ATTNSCOPE_FLASH_SM90", sm90_policy.c_str(), 1);
            }
            std::printf("\n");
        }
    }

    // The probe at index 1 of SD v1 (64x64 latent, 8 heads, d 40), from flash's LSE.
    std::printf("\nprobe at index 1 (fp16, 2x8x4096 queries, d 40), median of %d calls\n", iters);
    const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
    for (const int64_t sk : {int64_t{77}, int64_t{4096}}) {
        const auto q = at::randn({2, 8, 4096, 40}, opts), k = at::randn({2, 8, sk, 40}, opts),
                   v = at::randn({2, 8, sk, 40}, opts);
        const auto r = router.backend("flash").run({q, k, v, 1.0 / std::sqrt(40.0), false, false});
        const ProbeInputs pin{q.flatten(0, 1), k.flatten(0, 1), r.lse.flatten(0, 1), 8,
                              1.0 / std::sqrt(40.0)};
        const auto time = [&](const char* what, ProbeSelection sel) {
            std::printf("  %-58s %8.4f ms\n", what, median_ms(iters, [&](int) { probe_map(pin, sel); }));
        };
        if (sk == 77) {
            time("cross, token 1 over 4096 queries, one head",
                 {ProbeAxis::KeyColumn, 1, 1, HeadReduction::Single, 0});
            time("cross, token 1 over 4096 queries, mean of 8 heads",
                 {ProbeAxis::KeyColumn, 1, 1, HeadReduction::Mean, 0});
        } else {
            time("self, pixel 1 over 4096 keys, one head",
                 {ProbeAxis::QueryRow, 1, 1, HeadReduction::Single, 0});
            time("self, pixel 1 over 4096 keys, mean of 8 heads",
                 {ProbeAxis::QueryRow, 1, 1, HeadReduction::Mean, 0});
            time("self, key 1 over 4096 queries (column), max of 8 heads",
                 {ProbeAxis::KeyColumn, 1, 1, HeadReduction::Max, 0});
        }
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_attention: %s\n", e.what());
    return 1;
}
