#include "panels.h"
#include "render/grid.h"

#include <cstdio>

namespace attnscope::gui {

namespace {

// The model's sites of the shown kind, as the grid lays them out.
std::vector<AttentionSite> shown_sites(const UiState& s) {
    std::vector<AttentionSite> sites;
    for (const auto& row : s.snap.sites) {
        if (row.self != s.view.self) continue;
        AttentionSite site;
        site.index = row.index;
        site.module = row.module;
        site.height = row.height;
        site.width = row.width;
        sites.push_back(site);
    }
    return sites;
}

const SiteRow* site_of(const UiState& s, int index) {
    for (const auto& site : s.snap.sites)
        if (site.index == index && site.self == s.view.self) return &site;
    return nullptr;
}

} // namespace

void panel_index_grid(Ui& ui) {
    auto& s = ui.state;
    const auto sites = shown_sites(s);
    if (sites.empty()) {
        ImGui::TextDisabled("start a session to see the model's attention sites here");
        return;
    }
    // Where `attnscope maps --grid indices` puts them: rows by scale, highest resolution first; the down path
    // left, the mid block, the up path right, so the grid reads like the U of the U-Net.
    const auto grid = unet_grid(sites, 1, 1, 0);
    const float label_w = 46;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float aspect = s.preview.width > 0 ? static_cast<float>(s.preview.width) / s.preview.height : 1.0f;
    const float caption = ImGui::GetTextLineHeight() + 2;
    const float tile = std::max(
        8.0f, std::min((avail.x - label_w) / grid.columns - 4, (avail.y / grid.rows - caption - 4) * aspect));
    const float tile_h = tile / aspect;
    auto* draw = ImGui::GetWindowDrawList();
    std::vector<bool> labelled(static_cast<size_t>(grid.rows), false);
    for (size_t i = 0; i < sites.size(); ++i) {
        const auto& site = sites[i];
        const auto& cell = grid.cells[i];
        const ImVec2 at(origin.x + label_w + cell.column * (tile + 4),
                        origin.y + cell.row * (tile_h + caption + 4));
        if (!labelled[static_cast<size_t>(cell.row)]) {
            labelled[static_cast<size_t>(cell.row)] = true;
            char scale[32];
            std::snprintf(scale, sizeof scale, "%dx%d", site.width, site.height);
            draw->AddText(ImVec2(origin.x, at.y + caption + tile_h / 2 - 6), IM_COL32(170, 170, 170, 255),
                          scale);
        }
        const int index = site.index;
        char text[48];
        std::snprintf(text, sizeof text, "%d %s", index, to_string(unet_path(site.module)));
        draw->AddText(at, IM_COL32(200, 200, 200, 255), text);
        const ImVec2 a(at.x, at.y + caption), b(at.x + tile, at.y + caption + tile_h);
        ImGui::SetCursorScreenPos(a);
        ImGui::PushID(index);
        if (ImGui::InvisibleButton("tile", ImVec2(tile, tile_h))) s.view.index = index;
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
        if (ImGui::IsItemHovered()) {
            if (const auto* row = site_of(s, index))
                ImGui::SetTooltip("index %d (%s)\n%dx%d, %d heads x %d\nQ (%lld, %lld, %d)", index,
                                  row->module.c_str(), row->width, row->height, row->heads, row->head_dim,
                                  static_cast<long long>(row->batch * row->heads),
                                  static_cast<long long>(row->seq_q), row->head_dim);
        }
    }
    ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + grid.rows * (tile_h + caption + 4)));
    if (!s.view.thumb_tokens.empty()) ImGui::TextDisabled("showing the hovered token");
    record_background(s);
}

} // namespace attnscope::gui
