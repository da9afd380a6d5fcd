#include "map_textures.h"
#include "panels.h"

#include <cmath>
#include <cstdio>

namespace attnscope::gui {

void panel_heads(Ui& ui) {
    auto& s = ui.state;
    const auto& maps = s.maps.head_maps;
    if (maps.size() < 2) {
        ImGui::TextDisabled("no heads to show yet");
        return;
    }
    const int heads = static_cast<int>(maps.size()) - 2;
    ImGui::Text("index %d: %d heads, the mean and the max", s.maps.request.index, heads);
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float aspect = s.preview.width > 0 ? static_cast<float>(s.preview.width) / s.preview.height : 1.0f;
    const int count = static_cast<int>(maps.size());
    const float caption = ImGui::GetTextLineHeight() + 2;
    // The column count that gives the largest tiles in the space there is.
    int best_cols = 1;
    float best = 0;
    for (int cols = 1; cols <= count; ++cols) {
        const int rows = (count + cols - 1) / cols;
        const float w = std::min(avail.x / cols - 4, (avail.y / rows - caption - 4) * aspect);
        if (w > best) {
            best = w;
            best_cols = cols;
        }
    }
    const float tile = std::max(8.0f, best), tile_h = tile / aspect;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    auto* draw = ImGui::GetWindowDrawList();
    for (int i = 0; i < count; ++i) {
        const ImVec2 at(origin.x + (i % best_cols) * (tile + 4),
                        origin.y + (i / best_cols) * (tile_h + caption + 4));
        char text[32];
        if (i < heads)
            std::snprintf(text, sizeof text, "head %d", i);
        else
            std::snprintf(text, sizeof text, "%s", i == heads ? "mean" : "max");
        draw->AddText(at, IM_COL32(200, 200, 200, 255), text);
        const ImVec2 a(at.x, at.y + caption), b(at.x + tile, at.y + caption + tile_h);
        ImGui::SetCursorScreenPos(a);
        ImGui::PushID(i);
        if (ImGui::InvisibleButton("head", ImVec2(tile, tile_h))) {
            s.view.head_mode = i < heads ? HeadMode::Single : i == heads ? HeadMode::Mean : HeadMode::Max;
            s.view.head = i < heads ? i : s.view.head;
        }
        ImGui::PopID();
        record_region(s, "head" + std::to_string(i), a, b);
        if (const auto* tex = ui.textures.find(head_slot(static_cast<size_t>(i))))
            draw->AddImage(tex->imgui_id(), a, b);
        const bool selected =
            i < heads ? (s.view.head_mode == HeadMode::Single && s.view.head == i)
                      : (i == heads ? s.view.head_mode == HeadMode::Mean : s.view.head_mode == HeadMode::Max);
        if (selected) draw->AddRect(a, b, kSelectedOutline, 0, 0, 2);
    }
}

} // namespace attnscope::gui
