#include "widgets.h"

#include "panels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace attnscope::gui {

void colorbar(Ui& ui, ImVec2 at, float height, ValueRange range, const std::string& name,
              const std::string& title) {
    const auto* bar = ui.textures.find(kColorbarSlot);
    if (!bar) return;
    auto* draw = ImGui::GetWindowDrawList();
    if (!title.empty()) {
        draw->AddText(at, IM_COL32(220, 220, 220, 255), title.c_str());
        const float line = ImGui::GetTextLineHeightWithSpacing();
        at.y += line;
        height = std::max(1.0f, height - line);
    }
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

int bar_chart(UiState& s, const std::string& name, ImVec2 size, const std::vector<BarSeries>& series) {
    const ImVec2 a = ImGui::GetCursorScreenPos(), b(a.x + size.x, a.y + size.y);
    ImGui::InvisibleButton(name.c_str(), ImVec2(std::max(1.0f, size.x), std::max(1.0f, size.y)));
    record_region(s, name, a, b);
    auto* draw = ImGui::GetWindowDrawList();
    draw->AddRectFilled(a, b, IM_COL32(22, 24, 28, 255));
    size_t bars = 0;
    double top = 0;
    for (const auto& line : series) {
        bars = std::max(bars, line.values->size());
        for (const double v : *line.values) top = std::max(top, v);
    }
    if (bars == 0) return -1;
    const float w = size.x / bars;
    for (const auto& line : series)
        for (size_t i = 0; i < line.values->size(); ++i) {
            const double v = (*line.values)[i];
            if (!(v > 0) || !(top > 0)) continue;
            const float x = a.x + i * w, h = static_cast<float>(v / top) * size.y;
            // At least a pixel wide and tall, so that many small bars still show.
            draw->AddRectFilled(ImVec2(x, b.y - std::max(1.0f, h)), ImVec2(x + std::max(1.0f, w - 1), b.y),
                                line.colour);
        }
    if (!ImGui::IsItemHovered()) return -1;
    const int i = static_cast<int>((ImGui::GetIO().MousePos.x - a.x) / w);
    return std::clamp(i, 0, static_cast<int>(bars) - 1);
}

void same_line_if_fits(float width) {
    ImGui::SameLine();
    if (ImGui::GetContentRegionAvail().x < width) ImGui::NewLine();
}

ImVec4 role_color(TokenRole role) {
    switch (role) {
    case TokenRole::Start:
        return ImVec4(0.20f, 0.45f, 0.30f, 1);
    case TokenRole::End:
        return ImVec4(0.55f, 0.25f, 0.25f, 1);
    case TokenRole::Padding:
        return ImVec4(0.28f, 0.28f, 0.30f, 1);
    case TokenRole::Prompt:
        break;
    }
    return ImVec4(0.22f, 0.33f, 0.55f, 1);
}

void error_text(const std::string& text) {
    ImGui::PushStyleColor(ImGuiCol_Text, kErrorColor);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

} // namespace attnscope::gui
