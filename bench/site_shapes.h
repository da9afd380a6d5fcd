#pragma once
// What the attention benchmarks share: the distinct shapes of a U-Net's attention sites and a reader for
// their --name value options.
#include "model/unet.h"

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace attnscope::bench {

struct SiteShape {
    int heads, head_dim;
    int64_t seq_q, seq_k;
    std::string sites; // e.g. "v1 self 1,2,14,15,16"
};

// The distinct (Sq, Sk, heads, head dim) of the model's sites at a square latent, largest first, each
// labelled with `tag`, its kind and the indices that have it (runs of them as "5-34", SDXL's are long).
inline std::vector<SiteShape> distinct_site_shapes(const UNetConfig& config, const std::string& tag,
                                                   int latent) {
    std::map<std::tuple<int64_t, int64_t, int, int>, std::pair<std::string, std::vector<int>>> found;
    for (const auto& s : unet_attention_sites(config, 2, latent, latent, 77)) {
        auto& [kind, indices] = found[{-s.seq_q, -s.seq_k, s.heads, s.head_dim}];
        kind = to_string(s.kind);
        indices.push_back(s.index);
    }
    std::vector<SiteShape> out;
    for (const auto& [key, found_sites] : found) {
        const auto& [kind, indices] = found_sites;
        std::string label = tag + " " + kind + " ";
        for (std::size_t i = 0; i < indices.size();) {
            std::size_t j = i;
            while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
            label += (i ? "," : "") + std::to_string(indices[i]) +
                     (j > i + 1 ? "-" + std::to_string(indices[j])
                      : j > i   ? "," + std::to_string(indices[j])
                                : "");
            i = j + 1;
        }
        out.push_back({std::get<2>(key), std::get<3>(key), -std::get<0>(key), -std::get<1>(key), label});
    }
    return out;
}

// "2x8x4096x4096x40": batch 2 (CFG) x heads x Sq x Sk x head dim.
inline std::string shape_label(const SiteShape& s) {
    return "2x" + std::to_string(s.heads) + "x" + std::to_string(s.seq_q) + "x" + std::to_string(s.seq_k) +
           "x" + std::to_string(s.head_dim);
}

inline std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + name) return argv[i + 1];
    return fallback;
}

} // namespace attnscope::bench
