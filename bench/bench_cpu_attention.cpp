// Attention backends on the CPU, as the router calls them: math (P materialized) against our CPU kernel's
// flash and int8, on every distinct site shape of the embedded tiny model at 64x64 and, with --sd, of SD v1
// at 512x512 (batch 2, classifier-free guidance; fp32).
//   bench_cpu_attention [--iters 7] [--sets 2] [--sd 1] [--model DIR]
// Each figure is the median of --iters calls after two warm-up calls, wall clock, rotating over --sets
// input sets. "Gscore/s" counts B*heads*Sq*Sk, the entries of P, which is what every backend's work scales
// with here (the tiny model's heads are 4 to 8 wide).
#include "attention/cpu_attention_kernel.h"
#include "attention/router.h"
#include "model/unet_loader.h"
#include "session/pipeline.h"
#include "site_shapes.h"
#include "util/cpu_threads.h"

#include <ATen/Parallel.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace attnscope;

double median_ms(int iters, const std::function<void(int)>& fn) {
    for (int i = 0; i < 2; ++i) fn(i);
    std::vector<double> ms;
    for (int i = 0; i < iters; ++i) {
        const auto start = std::chrono::steady_clock::now();
        fn(i);
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

void run(const std::vector<bench::SiteShape>& shapes, int iters, int sets) {
    AttentionRouter router;
    const char* backends[] = {"math", "flash", "int8"};
    std::printf("%-26s %-18s %17s %17s %17s %10s\n", "sites", "B x h x Sq x Sk x d", "math", "flash", "int8",
                "math/flash");
    for (const auto& s : shapes) {
        std::vector<std::array<at::Tensor, 3>> in;
        for (int i = 0; i < sets; ++i)
            in.push_back({at::randn({2, s.heads, s.seq_q, s.head_dim}),
                          at::randn({2, s.heads, s.seq_k, s.head_dim}),
                          at::randn({2, s.heads, s.seq_k, s.head_dim})});
        const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
        const double scores = 2.0 * s.heads * static_cast<double>(s.seq_q) * s.seq_k;
        std::map<std::string, double> ms;
        for (const char* name : backends) {
            const auto& b = router.backend(name);
            ms[name] = median_ms(iters, [&](int i) {
                const auto& x = in[i % sets];
                b.run({x[0], x[1], x[2], scale, false, false});
            });
        }
        std::printf("%-26s %-18s", s.sites.c_str(), bench::shape_label(s).c_str());
        for (const char* name : backends) std::printf(" %9.2f (%5.2f)", ms[name], scores / ms[name] * 1e-6);
        std::printf(" %9.2fx\n", ms["math"] / ms["flash"]);
    }
}

} // namespace

int main(int argc, char** argv) try {
    configure_cpu_threads();
    const int iters = std::stoi(bench::arg(argc, argv, "iters", "7")),
              sets = std::stoi(bench::arg(argc, argv, "sets", "2"));
    std::printf(
        "CPU attention, fp32, %d threads, our kernel built for %s; median of %d calls, ms (Gscore/s)\n",
        at::get_num_threads(), cpu::cpu_attention_isa(), iters);
    const auto model = bench::arg(argc, argv, "model", default_model_path());
    std::printf("\n%s at 64x64\n", model.c_str());
    run(bench::distinct_site_shapes(open_unet_checkpoint(model).config, "tiny", 64), iters, sets);
    if (bench::arg(argc, argv, "sd", "0") == "1") {
        std::printf("\nSD v1.5 at 512x512\n");
        run(bench::distinct_site_shapes(unet_config_preset("sd15"), "v1", 64), std::max(1, iters / 2), sets);
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cpu_attention: %s\n", e.what());
    return 1;
}
