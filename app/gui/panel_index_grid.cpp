#include "panels.h"
#include "render/grid.h"

#include <cstdio>

namespace attnscope::gui {

namespace {

const SiteRow* site_of(const UiState& s, int index) {
    for (const auto& site : s.snap.sites)
        if (site.index == index && site.self == s.view.self) return &site;
    return nullptr;
}

} // namespace

void panel_index_grid(Ui& ui) {
    auto& s = ui.state;
    const float label_w = 46;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float aspect = s.preview.width > 0 ? static_cast<float>(s.preview.width) / s.preview.height : 1.0f;
    const float caption = ImGui::GetTextLineHeight() + 2;
    const float tile =
        std::max(8.0f, std::min((avail.x - label_w) / 6 - 4, (avail.y / 4 - caption - 4) * aspect));
    const float tile_h = tile / aspect;
    auto* draw = ImGui::GetWindowDrawList();
    for (int row = 0; row < 4; ++row) {
        const int first_index = row == 0 ? 1 : row == 1 ? 3 : row == 2 ? 5 : 7;
        const auto* site = site_of(s, first_index);
        char scale[32];
        std::snprintf(scale, sizeof scale, "%dx%d", site ? site->width : 0, site ? site->height : 0);
        draw->AddText(ImVec2(origin.x, origin.y + row * (tile_h + caption + 4) + caption + tile_h / 2 - 6),
                      IM_COL32(170, 170, 170, 255), scale);
    }
    // Where `attnscope maps --grid indices` puts them: rows by scale, highest resolution first; the down path
    // left, the mid block, the up path right, so the grid reads like the U of the U-Net.
    static const auto cells = unet_grid(1, 1, 0).cells;
    for (int index = 1; index <= 16; ++index) {
        const auto& cell = cells[static_cast<size_t>(index - 1)];
        const ImVec2 at(origin.x + label_w + cell.column * (tile + 4),
                        origin.y + cell.row * (tile_h + caption + 4));
        char text[48];
        std::snprintf(text, sizeof text, "%d %s", index, index == 7 ? "mid" : index < 7 ? "down" : "up");
        draw->AddText(at, IM_COL32(200, 200, 200, 255), text);
        const ImVec2 a(at.x, at.y + caption), b(at.x + tile, at.y + caption + tile_h);
        ImGui::SetCursorScreenPos(a);
        ImGui::PushID(index);
        if (ImGui::InvisibleButton("tile", ImVec2(tile, tile_h))) s.view.index = index;
        ImGui::PopID();
        record_region(s, "index" + std::to_string(index), a, b);
        const auto* tex = ui.textures.find(index_slot(index));
        if (tex && !s.maps.index_maps.at(index - 1).empty())
            draw->AddImage(tex->imgui_id(), a, b);
        else
            draw->AddRectFilled(a, b, IM_COL32(40, 42, 48, 255));
        if (index == s.view.index) draw->AddRect(a, b, kSelectedOutline, 0, 0, 2);
        if (ImGui::IsItemHovered()) {
            if (const auto* site = site_of(s, index))
                ImGui::SetTooltip("index %d (%s)\n%dx%d, %d heads x %d\nQ (%lld, %lld, %d)", index,
                                  site->module.c_str(), site->width, site->height, site->heads,
                                  site->head_dim, static_cast<long long>(site->batch * site->heads),
                                  static_cast<long long>(site->seq_q), site->head_dim);
        }
    }
    ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + 4 * (tile_h + caption + 4)));
    if (!s.view.thumb_tokens.empty()) ImGui::TextDisabled("showing the hovered token");
}

} // namespace attnscope::gui
