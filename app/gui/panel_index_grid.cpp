#include "panels.h"
#include "render/grid.h"
#include "unet_blocks_view.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>

namespace attnscope::gui {

namespace {

// The model's sites of the shown kind as the grid lays them out: a summed transformer by its first block.
std::vector<const SiteRow*> shown_sites(const UiState& s) {
    std::vector<const SiteRow*> rows;
    std::set<std::string> seen;
    for (const auto& row : s.snap.sites) {
        if (row.self != s.view.self) continue;
        if (s.view.summed.count(row.transformer) && !seen.insert(row.transformer).second) continue;
        rows.push_back(&row);
    }
    return rows;
}

// What the grid layout (render/grid.h) reads of them.
std::vector<AttentionSite> grid_sites(const std::vector<const SiteRow*>& rows) {
    std::vector<AttentionSite> sites;
    for (const auto* row : rows) {
        AttentionSite site;
        site.index = row->index;
        site.module = row->module;
        site.height = row->height;
        site.width = row->width;
        sites.push_back(site);
    }
    return sites;
}

// Over a transformer's column: "12 up", "5-14 down" over the strip of its blocks, "5-14 sum" over their
// summed tile; or as much of it as the column holds (at least the first index).
std::string tile_label(const AttentionSite& site, int depth, bool summed, float width) {
    const std::string number = depth > 1
                                   ? std::to_string(site.index) + "-" + std::to_string(site.index + depth - 1)
                                   : std::to_string(site.index);
    for (const auto& label :
         {number + (summed ? " sum" : std::string(" ") + to_string(unet_path(site.module))), number,
          std::to_string(site.index)})
        if (ImGui::CalcTextSize(label.c_str()).x <= width) return label;
    return "";
}

} // namespace

void panel_index_grid(Ui& ui) {
    auto& s = ui.state;
    const auto rows = shown_sites(s);
    if (rows.empty()) {
        ImGui::TextDisabled("start a session to see the model's attention sites here");
        return;
    }
    const auto& deep = s.snap.deep_transformers;
    if (!deep.empty()) {
        bool all = s.view.summed == deep;
        if (ImGui::Checkbox("one tile per transformer (the sum of its blocks)", &all))
            s.view.summed = all ? deep : std::set<std::string>{};
        ImGui::SameLine();
        ImGui::TextDisabled("right-click a tile: sum or expand its transformer");
    }
    // Where `attnscope maps --grid indices` puts them: a band of rows per scale, highest resolution first;
    // the down path left, the mid block, the up path right, so the grid reads like the U of the U-Net; a
    // transformer's blocks down its column under one caption.
    const auto sites = grid_sites(rows);
    const auto grid = unet_grid(sites, 1, 1, 0);
    const float label_w = 46;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float aspect = s.preview.width > 0 ? static_cast<float>(s.preview.width) / s.preview.height : 1.0f;
    const float caption = ImGui::GetTextLineHeight() + 2;
    const auto bands = static_cast<float>(grid.bands.size());
    const float tile = std::max(8.0f, std::min((avail.x - label_w) / grid.columns - 4,
                                               ((avail.y - bands * caption) / grid.rows - 4) * aspect));
    const float tile_h = tile / aspect;
    const auto band_of = [&](int row) {
        return static_cast<int>(std::upper_bound(grid.bands.begin(), grid.bands.end(), row) -
                                grid.bands.begin());
    };
    const auto top_of = [&](int row) { return origin.y + band_of(row) * caption + row * (tile_h + 4); };
    auto* draw = ImGui::GetWindowDrawList();
    std::vector<bool> labelled(grid.bands.size(), false);
    for (size_t i = 0; i < sites.size(); ++i) {
        const auto& site = sites[i];
        const auto& cell = grid.cells[i];
        const int band = band_of(cell.row) - 1;
        const bool first = cell.row == grid.bands[static_cast<size_t>(band)]; // the top of its column
        const ImVec2 a(origin.x + label_w + cell.column * (tile + 4), top_of(cell.row));
        const ImVec2 b(a.x + tile, a.y + tile_h);
        const auto& row = *rows[i];
        const int index = site.index;
        const auto& transformer = row.transformer;
        const int depth = row.depth;
        const bool summed = s.view.summed.count(transformer) > 0;
        if (first) {
            draw->AddText(ImVec2(a.x, a.y - caption), IM_COL32(200, 200, 200, 255),
                          tile_label(site, depth, summed, tile + 4).c_str());
        }
        if (first && !labelled[static_cast<size_t>(band)]) {
            labelled[static_cast<size_t>(band)] = true;
            char scale[32];
            std::snprintf(scale, sizeof scale, "%dx%d", site.width, site.height);
            draw->AddText(ImVec2(origin.x, a.y + tile_h / 2 - 6), IM_COL32(170, 170, 170, 255), scale);
        }
        ImGui::SetCursorScreenPos(a);
        ImGui::PushID(index);
        if (ImGui::InvisibleButton("tile", ImVec2(tile, tile_h))) s.view.index = index;
        if (depth > 1 && ImGui::IsItemClicked(ImGuiMouseButton_Right)) {
            if (summed)
                s.view.summed.erase(transformer);
            else
                s.view.summed.insert(transformer);
        }
        ImGui::PopID();
        record_region(s, "index" + std::to_string(index), a, b);
        const auto* tex =
            index <= static_cast<int>(kMaxIndexTiles) ? ui.textures.find(index_slot(index)) : nullptr;
        const auto m = static_cast<size_t>(index - 1);
        if (tex && m < s.maps.index_maps.size() && !s.maps.index_maps[m].empty())
            draw->AddImage(tex->imgui_id(), a, b);
        else
            draw->AddRectFilled(a, b, IM_COL32(40, 42, 48, 255));
        if (index == s.view.index) draw->AddRect(a, b, kSelectedOutline, 0, 0, 2);
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("%s %d%s (%s)\n%dx%d, %d heads x %d\nQ (%lld, %lld, %d)%s",
                              summed ? "indices" : "index", index,
                              summed ? ("-" + std::to_string(index + depth - 1)).c_str() : "",
                              summed ? transformer.c_str() : row.module.c_str(), row.width, row.height,
                              row.heads, row.head_dim, static_cast<long long>(row.batch * row.heads),
                              static_cast<long long>(row.seq_q), row.head_dim,
                              depth > 1 ? (summed ? "\nthe sum of its blocks' maps; right-click: each block"
                                                  : "\nright-click: the sum of its transformer's blocks")
                                        : "");
    }
    ImGui::SetCursorScreenPos(ImVec2(origin.x, top_of(grid.rows)));
    if (!s.view.thumb_tokens.empty()) ImGui::TextDisabled("showing the hovered token");
    record_background(s);
}

} // namespace attnscope::gui
