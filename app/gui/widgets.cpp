#include "widgets.h"

#include "panels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attnscope::gui {

void colorbar(Ui& ui, ImVec2 at, float height, ValueRange range, const std::string& name) {
    const auto* bar = ui.textures.find(kColorbarSlot);
    if (!bar) return;
    auto* draw = ImGui::GetWindowDrawList();
    const float w = 14;
    // The 256x1 ramp drawn upright: high values at the top.
    draw->AddImageQuad(bar->imgui_id(), at, ImVec2(at.x + w, at.y), ImVec2(at.x + w, at.y + height),
                       ImVec2(at.x, at.y + height), ImVec2(1, 0.5f), ImVec2(1, 0.5f), ImVec2(0, 0.5f),
                       ImVec2(0, 0.5f));
    record_region(ui.state, name, at, ImVec2(at.x + w, at.y + height));
    char text[32];
    const float label_h = ImGui::GetTextLineHeight();
    for (int i = 0; i <= 4; ++i) {
        const float f = i / 4.0f;
        std::snprintf(text, sizeof text, "%.3g", range.hi - f * (range.hi - range.lo));
        const float y = std::clamp(at.y + f * height - label_h / 2, at.y, at.y + height - label_h);
        draw->AddLine(ImVec2(at.x + w, at.y + f * height), ImVec2(at.x + w + 4, at.y + f * height),
                      IM_COL32(200, 200, 200, 255));
        draw->AddText(ImVec2(at.x + w + 6, y), IM_COL32(220, 220, 220, 255), text);
    }
}

float image_row(UiState& s, const std::array<const Texture*, 3>& textures,
                const std::array<std::string, 3>& captions, float aspect, float width,
                const std::string& name) {
    // Whole pixels, so that the three images are sampled alike and compare pixel for pixel.
    const float gap = 8, caption = ImGui::GetTextLineHeightWithSpacing();
    const float w = std::max(8.0f, std::floor((width - 2 * gap) / 3)), h = std::floor(w / aspect);
    const ImVec2 cursor = ImGui::GetCursorScreenPos();
    const ImVec2 origin(std::floor(cursor.x), std::floor(cursor.y));
    auto* draw = ImGui::GetWindowDrawList();
    const char* suffixes[] = {"_a", "_b", "_diff"};
    for (size_t i = 0; i < 3; ++i) {
        const ImVec2 at(origin.x + i * (w + gap), origin.y);
        draw->AddText(at, IM_COL32(200, 200, 200, 255), captions[i].c_str());
        const ImVec2 a(at.x, at.y + caption), b(at.x + w, at.y + caption + h);
        if (textures[i])
            draw->AddImage(textures[i]->imgui_id(), a, b);
        else
            draw->AddRect(a, b, IM_COL32(70, 74, 82, 255));
        record_region(s, name + suffixes[i], a, b);
    }
    ImGui::Dummy(ImVec2(width, caption + h));
    return h;
}

void error_text(const std::string& text) {
    ImGui::PushStyleColor(ImGuiCol_Text, kErrorColor);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

} // namespace attnscope::gui
