// The token mass view (issue 8, the GUI side of `attnscope maps --token-mass`): where each site's
// cross-attention goes at the shown step (the start token, the prompt's tokens, the end token, the padding),
// and the selected index's shares over every captured step. The worker measures each captured call once,
// with the maps.
#include "panels.h"
#include "widgets.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

namespace attnscope::gui {

namespace {

constexpr std::array<TokenRole, 4> kRoles = {TokenRole::Start, TokenRole::Prompt, TokenRole::End,
                                             TokenRole::Padding};
constexpr std::array<const char*, 4> kRoleNames = {"start", "prompt", "end", "padding"};
constexpr float kLabelWidth = 64;

std::array<double, 4> parts(const TokenShares& m) {
    return {m.start, m.prompt, m.end, m.padding};
}

// One bar over the rectangle a..b split into the four shares: left to right, or upwards.
void stacked_bar(ImDrawList* draw, ImVec2 a, ImVec2 b, const TokenShares& m, bool upright) {
    double done = 0;
    const auto p = parts(m);
    for (size_t i = 0; i < p.size(); ++i) {
        const auto f0 = static_cast<float>(done), f1 = static_cast<float>(done + p[i]);
        done += p[i];
        const ImVec2 lo = upright ? ImVec2(a.x, b.y - f1 * (b.y - a.y)) : ImVec2(a.x + f0 * (b.x - a.x), a.y);
        const ImVec2 hi = upright ? ImVec2(b.x, b.y - f0 * (b.y - a.y)) : ImVec2(a.x + f1 * (b.x - a.x), b.y);
        draw->AddRectFilled(lo, hi, ImGui::ColorConvertFloat4ToU32(role_color(kRoles[i])));
    }
}

std::string shares_text(const TokenShares& m) {
    char text[128];
    std::snprintf(text, sizeof text, "start %.2f%%, prompt %.2f%%, end %.2f%%, padding %.2f%%", 100 * m.start,
                  100 * m.prompt, 100 * m.end, 100 * m.padding);
    return text;
}

std::string site_text(const TokenMassSite& site) {
    std::string text = "step " + std::to_string(site.step + 1) + ", index " + std::to_string(site.index) +
                       "\nprompt's half: " + shares_text(site.cond);
    if (site.uncond) text += "\nnegative prompt's half: " + shares_text(*site.uncond);
    return text;
}

void legend() {
    for (size_t i = 0; i < kRoles.size(); ++i) {
        if (i > 0) ImGui::SameLine();
        ImGui::ColorButton(kRoleNames[i], role_color(kRoles[i]), ImGuiColorEditFlags_NoTooltip,
                           ImVec2(ImGui::GetTextLineHeight(), ImGui::GetTextLineHeight()));
        ImGui::SameLine();
        ImGui::TextUnformatted(kRoleNames[i]);
    }
}

// A row per site at the shown step (at_step[index], 1 first): the prompt's half, and under it the negative
// prompt's when there is one. A click selects the index.
void sites_at_step(UiState& s, const std::vector<const TokenMassSite*>& at_step, float row_h) {
    const int sites = static_cast<int>(at_step.size()) - 1;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const float width = std::max(32.0f, ImGui::GetContentRegionAvail().x - kLabelWidth);
    auto* draw = ImGui::GetWindowDrawList();
    const float text_h = ImGui::GetTextLineHeight();
    // Labels only where they do not overlap the last: SDXL's 70 rows are thinner than a line of text.
    float free_from = origin.y - text_h;
    for (int index = 1; index <= sites; ++index) {
        const float y = origin.y + (index - 1) * row_h;
        if (const float text_y = y + (row_h - text_h) / 2; text_y >= free_from) {
            char label[24];
            std::snprintf(label, sizeof label, "index %d", index);
            draw->AddText(ImVec2(origin.x, text_y), IM_COL32(200, 200, 200, 255), label);
            free_from = text_y + text_h;
        }
        const ImVec2 a(origin.x + kLabelWidth, y + 1), b(a.x + width, y + row_h - 1);
        ImGui::SetCursorScreenPos(a);
        ImGui::PushID(index);
        if (ImGui::InvisibleButton("site", ImVec2(width, std::max(1.0f, b.y - a.y)))) {
            s.view.index = index;
            s.view.aggregate = false;
        }
        ImGui::PopID();
        record_region(s, "token_mass_row" + std::to_string(index), a, b);
        const auto* site = at_step[index];
        if (!site) continue;
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", site_text(*site).c_str());
        const float split = site->uncond ? a.y + (b.y - a.y) * 0.62f : b.y;
        stacked_bar(draw, a, ImVec2(b.x, split), site->cond, false);
        if (site->uncond) stacked_bar(draw, ImVec2(a.x, split + 1), b, *site->uncond, false);
        if (index == s.view.index) draw->AddRect(a, b, kSelectedOutline, 0, 0, 2);
    }
    record_region(s, "token_mass", ImVec2(origin.x + kLabelWidth, origin.y),
                  ImVec2(origin.x + kLabelWidth + width, origin.y + sites * row_h));
    ImGui::SetCursorScreenPos(origin);
    ImGui::Dummy(ImVec2(kLabelWidth + width, sites * row_h));
}

// The selected index's prompt-half shares at every captured step, a column each; a click shows that step.
void index_over_steps(UiState& s, const std::vector<const TokenMassSite*>& steps, float height) {
    if (steps.empty()) return;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const float avail = std::max(32.0f, ImGui::GetContentRegionAvail().x - kLabelWidth);
    const float column = std::clamp(avail / steps.size(), 2.0f, 32.0f);
    const ImVec2 a(origin.x + kLabelWidth, origin.y), b(a.x + column * steps.size(), origin.y + height);
    ImGui::SetCursorScreenPos(a);
    ImGui::InvisibleButton("steps", ImVec2(b.x - a.x, height));
    record_region(s, "token_mass_steps", a, b);
    auto* draw = ImGui::GetWindowDrawList();
    const int shown = s.maps.request.step;
    for (size_t i = 0; i < steps.size(); ++i) {
        const ImVec2 ca(a.x + i * column, a.y), cb(ca.x + column - (column > 4 ? 1 : 0), b.y);
        stacked_bar(draw, ca, cb, steps[i]->cond, true);
        if (steps[i]->step == shown) draw->AddRect(ca, cb, kSelectedOutline, 0, 0, 2);
    }
    if (!ImGui::IsItemHovered()) return;
    const auto i =
        std::min(steps.size() - 1, static_cast<size_t>((ImGui::GetIO().MousePos.x - a.x) / column));
    ImGui::SetTooltip("%s", site_text(*steps[i]).c_str());
    if (ImGui::IsItemClicked()) {
        s.view.steps_from = -1;
        s.view.step = steps[i]->step == s.snap.current_step - 1 ? -1 : steps[i]->step;
    }
}

} // namespace

void panel_token_mass(Ui& ui) {
    auto& s = ui.state;
    const auto& maps = s.maps;
    if (!maps.token_mass_error.empty()) {
        error_text(maps.token_mass_error);
        return;
    }
    const int step = maps.request.step;
    int sites = 0; // the model's numbering: indices 1..sites
    for (const auto& row : s.snap.sites) sites = std::max(sites, row.index);
    std::vector<const TokenMassSite*> at_step(static_cast<size_t>(sites) + 1, nullptr);
    std::vector<const TokenMassSite*> over_steps;
    bool guided = false;
    for (const auto& site : maps.token_mass) {
        if (site.index < 1 || site.index > sites) continue;
        if (site.step == step) at_step[site.index] = &site;
        if (site.index == s.view.index) over_steps.push_back(&site);
        guided = guided || site.uncond.has_value();
    }
    if (std::none_of(at_step.begin(), at_step.end(), [](const auto* p) { return p != nullptr; })) {
        ImGui::TextDisabled(step < 0 ? "no step has run yet" : "no cross-attention is captured at this step");
        return;
    }
    legend();
    ImGui::TextWrapped("Step %d: where each site's cross-attention goes, mean over heads and queries%s. "
                       "Hover for the numbers; a click selects the index.",
                       step + 1,
                       guided ? " (upper bar: the prompt's half, lower: the negative prompt's)" : "");
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const float avail = ImGui::GetContentRegionAvail().y;
    const float steps_h = std::clamp(avail * 0.22f, 40.0f, 120.0f);
    const float row_h = std::clamp((avail - steps_h - 2 * line) / sites, 8.0f, 26.0f);
    sites_at_step(s, at_step, row_h);
    ImGui::Text("index %d over the captured steps (the prompt's half); a click shows that step",
                s.view.index);
    index_over_steps(s, over_steps, steps_h);
}

} // namespace attnscope::gui
