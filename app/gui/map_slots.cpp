#include "map_slots.h"

#include "colormap_shader.h"
#include "map_writer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>
#include <utility>

namespace attnscope::gui {

namespace {

// 0..255 over 256 texels: through the shader with the range [0, 255], the colormap itself.
const ViewMap& colorbar_ramp() {
    static const ViewMap ramp = [] {
        ViewMap m;
        m.width = 256;
        m.height = 1;
        for (int i = 0; i < 256; ++i) m.values.push_back(static_cast<float>(i));
        m.min_value = 0;
        m.max_value = 255;
        return m;
    }();
    return ramp;
}

ValueRange range_of(const ViewMap& map) {
    return map.empty() ? ValueRange{} : ValueRange{map.min_value, map.max_value};
}

void widen(std::optional<ValueRange>& range, const ViewMap& map) {
    if (map.empty()) return;
    range = range ? ValueRange{std::min(range->lo, map.min_value), std::max(range->hi, map.max_value)}
                  : range_of(map);
}

// Signed maps (the guidance difference, cond - uncond) are coloured on a range symmetric about 0: the
// colormap's middle is "no difference", and differences of either sign and one size are equally far from
// it. An all-zero map gets [-1, 1], so it shows as that middle.
ValueRange around_zero(ValueRange r, bool signed_values) {
    if (!signed_values) return r;
    const float m = std::max(std::abs(r.lo), std::abs(r.hi));
    return m > 0 ? ValueRange{-m, m} : ValueRange{-1, 1};
}

bool signed_values(const MapResults& maps) {
    return maps.request.half == GuidanceHalf::Diff;
}

// Index thumbnails and head tiles share the main map's scale under global normalization, so their colours
// compare across sites. A fixed range is the user's, as given.
ValueRange range_for(const MapDisplay& d, const ViewMap& map, const std::optional<ValueRange>& global,
                     bool signed_values) {
    switch (d.normalization) {
    case Normalization::PerMap:
        return around_zero(range_of(map), signed_values);
    case Normalization::Global:
        return around_zero(global.value_or(range_of(map)), signed_values);
    case Normalization::Fixed:
        return {d.fixed_lo, d.fixed_hi};
    }
    return range_of(map);
}

// A pair's a and b share one range, so their colours compare (under global normalization, the main map's
// and the index maps' too); the difference has its own, from 0.
ValueRange pair_range(const MapDisplay& d, const MapPair& p, const std::optional<ValueRange>& global,
                      bool signed_values) {
    if (d.normalization == Normalization::Fixed) return {d.fixed_lo, d.fixed_hi};
    auto both = d.normalization == Normalization::Global ? global : std::nullopt;
    widen(both, p.a);
    widen(both, p.b);
    return both ? around_zero(*both, signed_values) : ValueRange{};
}

size_t index_maps_shown(const MapResults& maps) {
    return std::min(maps.index_maps.size(), kMaxIndexTiles);
}

size_t head_maps_shown(const MapResults& maps) {
    return std::min(maps.head_maps.size(), kMaxHeadTiles);
}

} // namespace

void write_maps(TexturePool& pool, const MapResults& maps) {
    pool.release_slots();
    std::vector<MapWrite> writes;
    const auto put = [&](size_t slot, const ViewMap& map, bool cells = false) {
        if (!map.empty()) writes.push_back({&map, &pool.take(slot, map.width, map.height, cells).values});
    };
    put(kColorbarSlot, colorbar_ramp());
    put(kMainSlot, maps.main);
    for (size_t i = 0; i < index_maps_shown(maps); ++i)
        put(index_slot(static_cast<int>(i) + 1), maps.index_maps[i]);
    for (size_t i = 0; i < head_maps_shown(maps); ++i) put(head_slot(i), maps.head_maps[i]);
    for (const auto& [slot, pair] : {std::pair{kComparePair, &maps.compare},
                                     {kBranchPair, &maps.branch},
                                     {kGuidancePair, &maps.guidance}}) {
        put(slot, pair->a);
        put(slot + 1, pair->b);
        put(slot + 2, pair->diff);
    }
    put(kDivergenceSlot, maps.divergence_self, true);
    put(kDivergenceSlot + 1, maps.divergence_cross, true);
    pool.writer()->write(writes);
}

MapRanges paint_maps(TexturePool& pool, const MapResults& maps, const MapDisplay& display, const Lut& lut) {
    auto& shader = *pool.shader();
    shader.set_lut(lut);
    std::optional<ValueRange> global, heads;
    widen(global, maps.main);
    for (const auto& m : maps.index_maps) widen(global, m);
    for (const auto& m : maps.head_maps) widen(heads, m);
    const auto paint_range = [&](size_t slot, ValueRange r) {
        if (auto* textures = pool.slot(slot)) shader.paint(*textures, r.lo, r.hi);
    };
    const bool sign = signed_values(maps);
    const auto paint = [&](size_t slot, const ViewMap& map, const std::optional<ValueRange>& shared) {
        paint_range(slot, range_for(display, map, shared, sign));
    };
    if (auto* bar = pool.slot(kColorbarSlot)) shader.paint(*bar, 0, 255);
    paint(kMainSlot, maps.main, global);
    for (size_t i = 0; i < index_maps_shown(maps); ++i)
        paint(index_slot(static_cast<int>(i) + 1), maps.index_maps[i], global);
    for (size_t i = 0; i < head_maps_shown(maps); ++i) paint(head_slot(i), maps.head_maps[i], heads);
    MapRanges ranges;
    ranges.main = range_for(display, maps.main, global, sign);
    for (const auto& [slot, pair, both, diff] :
         {std::tuple{kComparePair, &maps.compare, &ranges.compare, &ranges.compare_diff},
          {kBranchPair, &maps.branch, &ranges.branch, &ranges.branch_diff}}) {
        *both = pair_range(display, *pair, global, sign);
        // No difference at all shows as the bottom of the colormap, not its middle (a flat range).
        *diff = {0, !pair->diff.empty() && pair->diff.max_value > 0 ? pair->diff.max_value : 1.0f};
        paint_range(slot, *both);
        paint_range(slot + 1, *both);
        paint_range(slot + 2, *diff);
    }
    // The halves share one range (global normalization: the main map's too, unless that is a difference);
    // their difference is signed, so symmetric about 0.
    ranges.guidance = pair_range(display, maps.guidance, sign ? std::nullopt : global, false);
    ranges.guidance_diff = range_for(display, maps.guidance.diff, std::nullopt, true);
    paint_range(kGuidancePair, ranges.guidance);
    paint_range(kGuidancePair + 1, ranges.guidance);
    paint_range(kGuidancePair + 2, ranges.guidance_diff);
    paint_range(kDivergenceSlot, maps.divergence_range);
    paint_range(kDivergenceSlot + 1, maps.divergence_range);
    return ranges;
}

} // namespace attnscope::gui
