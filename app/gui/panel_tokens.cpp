#include "panels.h"
#include "widgets.h"

#include <algorithm>

namespace attnscope::gui {

namespace {

// A word the model does not know (core/text/prompt_guide.h): its chips and the line that explains it.
const ImVec4 kUnknownChip(0.70f, 0.42f, 0.05f, 1.0f);
const ImVec4 kUnknownText(1.0f, 0.72f, 0.25f, 1.0f);

// One chip, true when clicked; chips flow onto new lines.
bool chip(const char* label, const ImVec4& color, bool selected, int id) {
    const ImVec2 size = ImGui::CalcTextSize(label);
    const float w = size.x + ImGui::GetStyle().FramePadding.x * 2;
    const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    if (id > 0 && ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + w < right) ImGui::SameLine();
    ImGui::PushID(id);
    ImGui::PushStyleColor(ImGuiCol_Button, color);
    if (selected) ImGui::PushStyleColor(ImGuiCol_Border, ImGui::ColorConvertU32ToFloat4(kSelectedOutline));
    ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, selected ? 2.0f : 0.0f);
    const bool clicked = ImGui::Button(label);
    ImGui::PopStyleVar();
    ImGui::PopStyleColor(selected ? 2 : 1);
    ImGui::PopID();
    return clicked;
}

void apply_click(UiState& s, const std::vector<int>& positions) {
    auto& sel = s.view.tokens;
    if (ImGui::GetIO().KeyCtrl) {
        for (const int p : positions) {
            const auto it = std::find(sel.begin(), sel.end(), p);
            if (it == sel.end())
                sel.push_back(p);
            else
                sel.erase(it);
        }
        std::sort(sel.begin(), sel.end());
    } else {
        sel = positions;
    }
    s.view.self = false;
}

bool all_selected(const UiState& s, const std::vector<int>& positions) {
    return std::all_of(positions.begin(), positions.end(), [&](int p) {
        return std::find(s.view.tokens.begin(), s.view.tokens.end(), p) != s.view.tokens.end();
    });
}

} // namespace

void panel_tokens(Ui& ui) {
    auto& s = ui.state;
    const auto& tokens = s.snap.tokens;
    ImGui::Checkbox("join sub-words", &s.join_words);
    ImGui::SameLine();
    ImGui::TextDisabled("click: select, ctrl+click: add; hover: every site's map of that token");
    if (tokens.empty()) return;
    std::vector<int> hovered;
    // Chips: each token, or each word's tokens together; the padding after the end token as one chip.
    std::vector<std::pair<std::string, std::vector<int>>> chips;
    const int n = static_cast<int>(tokens.size());
    for (int i = 0; i < n; ++i) {
        const auto& t = tokens[i];
        if (t.role == TokenRole::Padding) {
            std::vector<int> rest;
            for (int j = i; j < n; ++j) rest.push_back(j);
            chips.push_back({"padding x" + std::to_string(rest.size()), rest});
            break;
        }
        if (s.join_words && t.word >= 0) {
            std::vector<int> same;
            while (i < n && tokens[i].word == t.word) same.push_back(i++);
            --i;
            chips.push_back({s.snap.words.at(t.word), same});
        } else {
            chips.push_back({t.role == TokenRole::Start ? "<start>"
                             : t.role == TokenRole::End ? "<end>"
                                                        : t.text,
                             {i}});
        }
    }
    const auto& guide = s.snap.prompt_guide;
    for (size_t c = 0; c < chips.size(); ++c) {
        const auto& [label, positions] = chips[c];
        const auto& first = tokens[positions.front()];
        const std::string* unknown =
            guide && first.word >= 0 && !guide->grammar.knows(s.snap.words.at(first.word))
                ? &s.snap.words.at(first.word)
                : nullptr;
        if (chip(label.c_str(), unknown ? kUnknownChip : role_color(first.role), all_selected(s, positions),
                 static_cast<int>(c)))
            apply_click(s, positions);
        record_region(s, "token" + std::to_string(positions.front()));
        if (unknown) record_region(s, "unknown_token" + std::to_string(positions.front()));
        if (ImGui::IsItemHovered()) {
            hovered = positions;
            ImGui::SetTooltip("position %d%s%s", positions.front(),
                              positions.size() > 1 ? (".." + std::to_string(positions.back())).c_str() : "",
                              unknown ? ("\n" + guide->unknown_words_line({*unknown})).c_str() : "");
        }
    }
    s.view.thumb_tokens = s.view.self ? std::vector<int>{} : hovered;
    if (!s.snap.tokenizers.empty()) {
        ImGui::TextDisabled("SDXL: %s", s.snap.tokenizers.c_str());
        record_region(s, "tokenizers");
    }
    if (!guide) return;
    const auto unknown_words = guide->unknown_words(s.snap.words);
    if (unknown_words.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, kUnknownText);
    ImGui::TextWrapped("%s", guide->unknown_words_line(unknown_words).c_str());
    ImGui::PopStyleColor();
    record_region(s, "unknown_words");
}

} // namespace attnscope::gui
