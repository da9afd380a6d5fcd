#include "unet_blocks_view.h"

namespace attnscope::gui {
namespace {

using Kind = UNetBlockRow::Kind;
using Path = UNetBlockRow::Path;

// A level's resnets, each followed by its transformer where the level has them, then its resampler.
void level_rows(std::vector<UNetBlockRow>& rows, const UNetLevel& level, Path path, int number) {
    for (size_t i = 0; i < level.resnets.size(); ++i) {
        const auto& r = level.resnets[i];
        rows.push_back({Kind::Resnet, path, number, r.out_channels, 0, 1, r.name.diffusers});
        if (i < level.attentions.size()) {
            const auto& t = level.attentions[i];
            rows.push_back({Kind::Transformer, path, number, t.channels, t.index, t.depth, t.name.diffusers});
        }
    }
    if (level.resample)
        rows.push_back({path == Path::Down ? Kind::Downsample : Kind::Upsample, path, number,
                        level.resample->channels, 0, 1, level.resample->name.diffusers});
}

} // namespace

std::vector<UNetBlockRow> unet_block_rows(const UNetLayout& layout) {
    std::vector<UNetBlockRow> rows;
    const int levels = static_cast<int>(layout.down.size());
    for (int l = 0; l < levels; ++l) level_rows(rows, layout.down[l], Path::Down, l);
    const int deepest = levels - 1;
    rows.push_back(
        {Kind::Resnet, Path::Mid, deepest, layout.mid_in.out_channels, 0, 1, layout.mid_in.name.diffusers});
    rows.push_back({Kind::Transformer, Path::Mid, deepest, layout.mid_attention.channels,
                    layout.mid_attention.index, layout.mid_attention.depth,
                    layout.mid_attention.name.diffusers});
    rows.push_back(
        {Kind::Resnet, Path::Mid, deepest, layout.mid_out.out_channels, 0, 1, layout.mid_out.name.diffusers});
    // The up path runs from the deepest level back to the latent's own resolution.
    for (int u = 0; u < static_cast<int>(layout.up.size()); ++u)
        level_rows(rows, layout.up[u], Path::Up, deepest - u);
    return rows;
}

std::set<std::string> group_by_transformer(std::vector<SiteRow>& sites) {
    std::map<std::string, int> depth;
    for (const auto& site : sites)
        if (site.self) ++depth[site.transformer];
    std::set<std::string> deep;
    for (auto& site : sites) {
        site.depth = depth[site.transformer];
        if (site.depth > 1) deep.insert(site.transformer);
    }
    return deep;
}

} // namespace attnscope::gui
