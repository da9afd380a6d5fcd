// The walk-through tab (issue 23): the selected query of the selected call, stage by stage with the step's
// real numbers: q and where it came from, the keys, the scores, the softmax taken apart (maximum, shifted
// exponentials, their sum, P, the LSE beside the captured one), O as the keys' contributions, the heads
// joined and projected into the residual stream, and the two guidance halves. It follows the selection
// (step, index, self/cross, head, query pixel, guidance half); Previous/Next/Play move through the stages.
#include "panels.h"
#include "widgets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace attnscope::gui {

namespace {

constexpr const char* kStages[] = {"1 query",   "2 keys",   "3 scores",
                                   "4 softmax", "5 output", "6 heads, guidance"};
constexpr int kStageCount = 6;
constexpr double kPlaySeconds = 2.5; // each stage's time while playing
const ImU32 kBar = IM_COL32(90, 150, 230, 255), kOtherBar = IM_COL32(240, 160, 40, 255);
const ImU32 kTopKeys[5] = {IM_COL32(230, 80, 80, 255), IM_COL32(80, 150, 230, 255),
                           IM_COL32(90, 190, 110, 255), IM_COL32(240, 170, 50, 255),
                           IM_COL32(170, 100, 220, 255)};
const ImU32 kRest = IM_COL32(150, 150, 150, 255);

double largest_abs(const std::vector<double>& v) {
    double m = 0;
    for (const double x : v) m = std::max(m, std::abs(x));
    return m;
}

// Blue below zero, red above, scaled to `limit`.
ImU32 diverging(double v, double limit) {
    const float t = limit > 0 ? static_cast<float>(std::clamp(v / limit, -1.0, 1.0)) : 0.0f;
    if (t >= 0) return ImGui::ColorConvertFloat4ToU32(ImVec4(0.35f + 0.65f * t, 0.35f, 0.4f - 0.2f * t, 1));
    return ImGui::ColorConvertFloat4ToU32(ImVec4(0.35f + 0.15f * t, 0.35f - 0.1f * t, 0.4f - 0.6f * t, 1));
}

// A row of cells coloured by value; the hovered one's index and value in a tooltip. `name` labels it.
void strip(UiState& s, const std::string& name, const std::vector<double>& v, float height, int group = 0,
           int marked = -1) {
    const float width = ImGui::GetContentRegionAvail().x;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float cell = v.empty() ? 0 : width / static_cast<float>(v.size());
    const double limit = largest_abs(v);
    auto* draw = ImGui::GetWindowDrawList();
    for (size_t i = 0; i < v.size(); ++i)
        draw->AddRectFilled(ImVec2(at.x + i * cell, at.y), ImVec2(at.x + (i + 1) * cell, at.y + height),
                            diverging(v[i], limit));
    if (group > 0 && marked >= 0)
        draw->AddRect(ImVec2(at.x + marked * group * cell, at.y - 1),
                      ImVec2(at.x + (marked + 1) * group * cell, at.y + height + 1), kSelectedOutline, 0, 0,
                      2);
    ImGui::InvisibleButton(name.c_str(), ImVec2(std::max(1.0f, width), height));
    record_region(s, name);
    if (ImGui::IsItemHovered() && cell > 0) {
        const int i = std::clamp(static_cast<int>((ImGui::GetIO().MousePos.x - at.x) / cell), 0,
                                 static_cast<int>(v.size()) - 1);
        if (group > 0)
            ImGui::SetTooltip("channel %d (head %d, dim %d): %.6g", i, i / group, i % group, v[i]);
        else
            ImGui::SetTooltip("%d: %.6g", i, v[i]);
    }
}

// A bar in the current table cell: from a middle axis when the column has negative values.
void bar_cell(double v, double limit, bool negative, ImU32 colour) {
    const float width = std::max(40.0f, ImGui::GetContentRegionAvail().x - 70);
    const float h = ImGui::GetTextLineHeight();
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float axis = at.x + (negative ? width / 2 : 0);
    const float length = limit > 0 ? static_cast<float>(v / limit) * (negative ? width / 2 : width) : 0;
    auto* draw = ImGui::GetWindowDrawList();
    draw->AddRectFilled(ImVec2(std::min(axis, axis + length), at.y + 2),
                        ImVec2(std::max(axis, axis + length), at.y + h - 1), colour);
    draw->AddLine(ImVec2(axis, at.y), ImVec2(axis, at.y + h), IM_COL32(120, 120, 120, 255));
    ImGui::Dummy(ImVec2(width, h));
    ImGui::SameLine();
    ImGui::Text("%.4g", v);
}

struct KeyColumn {
    const char* name;
    const std::vector<double>* values;
    ImU32 colour;
};

// Cross-attention: a row per token key with a bar per column.
void key_table(UiState& s, const WalkView& w, const std::vector<KeyColumn>& columns, float height) {
    const ImGuiTableFlags flags =
        ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY | ImGuiTableFlags_BordersInnerV;
    if (!ImGui::BeginTable("keys", 2 + static_cast<int>(columns.size()), flags, ImVec2(0, height))) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("#", ImGuiTableColumnFlags_WidthFixed, 24);
    ImGui::TableSetupColumn("token", ImGuiTableColumnFlags_WidthFixed, 110);
    for (const auto& c : columns) ImGui::TableSetupColumn(c.name);
    ImGui::TableHeadersRow();
    std::vector<double> limits;
    std::vector<bool> negative;
    for (const auto& c : columns) {
        limits.push_back(largest_abs(*c.values));
        negative.push_back(std::any_of(c.values->begin(), c.values->end(), [](double x) { return x < 0; }));
    }
    for (size_t j = 0; j < w.key_labels.size(); ++j) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::Text("%zu", j);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(w.key_labels[j].c_str());
        for (size_t c = 0; c < columns.size(); ++c) {
            ImGui::TableNextColumn();
            bar_cell((*columns[c].values)[j], limits[c], negative[c], columns[c].colour);
        }
    }
    ImGui::EndTable();
    record_region(s, "walk_keys");
}

// Self-attention: a map over the site's grid (the keys are its pixels), the query outlined; a click moves
// the query. Returns the side drawn.
float grid_map(Ui& ui, const WalkView& w, const std::vector<double>& v, const std::string& name, float side) {
    auto& s = ui.state;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float cell = side / std::max(w.width, w.height);
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    const ValueRange range{static_cast<float>(*lo), static_cast<float>(*hi)};
    const auto& lut = ui.colormaps.lut(s.display.colormap);
    auto* draw = ImGui::GetWindowDrawList();
    for (int y = 0; y < w.height; ++y)
        for (int x = 0; x < w.width; ++x) {
            const auto& c = color_of(static_cast<float>(v[static_cast<size_t>(y) * w.width + x]), range, lut);
            draw->AddRectFilled(ImVec2(at.x + x * cell, at.y + y * cell),
                                ImVec2(at.x + (x + 1) * cell, at.y + (y + 1) * cell),
                                IM_COL32(c[0], c[1], c[2], 255));
        }
    const int qx = static_cast<int>(w.key.query % w.width), qy = static_cast<int>(w.key.query / w.width);
    draw->AddRect(ImVec2(at.x + qx * cell - 1, at.y + qy * cell - 1),
                  ImVec2(at.x + (qx + 1) * cell + 1, at.y + (qy + 1) * cell + 1), kQueryMarker, 0, 0, 2);
    ImGui::InvisibleButton(name.c_str(), ImVec2(cell * w.width, cell * w.height));
    record_region(s, name);
    if (ImGui::IsItemHovered()) {
        const ImVec2 m = ImGui::GetIO().MousePos;
        const int x = std::clamp(static_cast<int>((m.x - at.x) / cell), 0, w.width - 1);
        const int y = std::clamp(static_cast<int>((m.y - at.y) / cell), 0, w.height - 1);
        ImGui::SetTooltip("key (%d,%d): %.6g\nrange %.4g .. %.4g\nclick: make this pixel the query", x, y,
                          v[static_cast<size_t>(y) * w.width + x], *lo, *hi);
        if (ImGui::IsItemClicked()) {
            s.view.query_x = (x + 0.5f) / w.width;
            s.view.query_y = (y + 0.5f) / w.height;
        }
    }
    return side;
}

// Self-attention's maps side by side, each with its caption.
void grid_maps(Ui& ui, const WalkView& w,
               const std::vector<std::pair<std::string, const std::vector<double>*>>& maps) {
    const float gap = 12;
    const float side =
        std::clamp((ImGui::GetContentRegionAvail().x - gap * (maps.size() - 1)) / maps.size(), 64.0f,
                   ImGui::GetContentRegionAvail().y - 3 * ImGui::GetTextLineHeightWithSpacing());
    for (size_t m = 0; m < maps.size(); ++m) {
        if (m) ImGui::SameLine(0, gap);
        ImGui::BeginGroup();
        ImGui::TextUnformatted(maps[m].first.c_str());
        grid_map(ui, w, *maps[m].second, "walk_map_" + std::to_string(m), side);
        ImGui::EndGroup();
    }
}

void stage_values(Ui& ui, const WalkView& w, const std::vector<KeyColumn>& columns) {
    auto& s = ui.state;
    if (w.key.self) {
        std::vector<std::pair<std::string, const std::vector<double>*>> maps;
        for (const auto& c : columns) maps.push_back({c.name, c.values});
        grid_maps(ui, w, maps);
    } else {
        key_table(s, w, columns, ImGui::GetContentRegionAvail().y - ImGui::GetTextLineHeightWithSpacing());
    }
}

void stage_query(Ui& ui, const WalkView& w) {
    auto& s = ui.state;
    ImGui::TextWrapped(
        "The query is one pixel of the %dx%d grid: its row of the layer-normalized hidden state h "
        "(%zu channels) times W_q gives q, and head %d takes channels %d..%d of it (d_k = %d).",
        w.width, w.height, w.hidden.size(), w.key.head, w.key.head * w.head_dim,
        (w.key.head + 1) * w.head_dim - 1, w.head_dim);
    ImGui::TextUnformatted("h, the hidden state at the query (layer norm of the residual stream):");
    strip(s, "walk_hidden", w.hidden, 18);
    ImGui::TextUnformatted("W_q[head rows] h, in float64:");
    strip(s, "walk_q_from_hidden", w.q_from_hidden, 18);
    double diff = 0;
    for (size_t i = 0; i < w.q.size() && i < w.q_from_hidden.size(); ++i)
        diff = std::max(diff, std::abs(w.q[i] - w.q_from_hidden[i]));
    ImGui::Text("q as the forward pass computed it (in %s): largest difference %.3g", "its precision", diff);
    strip(s, "walk_q", w.q, 28);
    double norm = 0;
    for (const double x : w.q) norm += x * x;
    ImGui::Text("|q| = %.4g; the scores will be scaled by 1/sqrt(d_k) = 1/sqrt(%d) = %.4g", std::sqrt(norm),
                w.head_dim, w.scale);
    if (w.key.self) {
        ImGui::TextDisabled("click a pixel to make it the query:");
        grid_map(ui, w, w.probs, "walk_pick", std::min(220.0f, ImGui::GetContentRegionAvail().y - 4));
    }
}

void stage_keys(Ui& ui, const WalkView& w) {
    if (w.key.self)
        ImGui::TextWrapped(
            "Self-attention: the %zu keys are the %dx%d pixels themselves, each a d_k = %d vector "
            "projected by W_k from the same hidden state. Their lengths |k_j|:",
            w.key_norms.size(), w.width, w.height, w.head_dim);
    else
        ImGui::TextWrapped(
            "Cross-attention: the %zu keys are the prompt's tokens, projected by W_k from the text "
            "encoder's output (the same for every pixel and step). Their lengths |k_j|:",
            w.key_norms.size());
    stage_values(ui, w, {{"|k_j|", &w.key_norms, kBar}});
}

void stage_scores(Ui& ui, const WalkView& w) {
    ImGui::TextWrapped(
        "Each key's score: s_j = q . k_j / sqrt(d_k) = q . k_j x %.4g. How well the key matches "
        "the query, before any normalization.",
        w.scale);
    stage_values(ui, w, {{"s_j", &w.scores, kBar}});
}

void stage_softmax(Ui& ui, const WalkView& w) {
    std::vector<double> shifted;
    for (const double x : w.scores) shifted.push_back(x - w.row_max);
    double total = 0;
    for (const double p : w.probs) total += p;
    ImGui::TextWrapped(
        "Softmax in four moves: subtract the row's maximum m = %.6g (so no exp overflows), exp, "
        "sum Z = %.6g, divide: P_j = exp(s_j - m) / Z, which add to %.12g. The LSE m + ln Z = %.7g; "
        "the forward pass kept %.7g (fp32): the probe recomputes any P as exp(s_j - LSE).",
        w.row_max, w.exp_sum, total, w.lse, w.captured_lse);
    stage_values(
        ui, w, {{"s_j - m", &shifted, kBar}, {"exp(s_j - m)", &w.exps, kBar}, {"P_j", &w.probs, kOtherBar}});
}

// O's channels as stacked bars of the keys' contributions P_j v_j: the five keys with the most attention in
// colour, the others in gray.
void contribution_chart(UiState& s, const WalkView& w, float height) {
    const int d = w.head_dim, keys = static_cast<int>(w.probs.size());
    std::vector<int> order(keys);
    for (int j = 0; j < keys; ++j) order[j] = j;
    const int shown = std::min(5, keys);
    std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                      [&](int a, int b) { return w.probs[a] > w.probs[b]; });
    std::vector<int> colour(keys, -1);
    for (int i = 0; i < shown; ++i) colour[order[i]] = i;
    double limit = 1e-30;
    for (int c = 0; c < d; ++c) {
        double up = 0, down = 0;
        for (int j = 0; j < keys; ++j) {
            const double v = w.contributions[static_cast<size_t>(j) * d + c];
            (v > 0 ? up : down) += v;
        }
        limit = std::max({limit, up, -down});
    }
    const float width = ImGui::GetContentRegionAvail().x, cell = width / d, half = height / 2;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float axis = at.y + half;
    auto* draw = ImGui::GetWindowDrawList();
    for (int c = 0; c < d; ++c) {
        double up = 0, down = 0;
        const auto slice = [&](double v, ImU32 fill) {
            double& sum = v > 0 ? up : down;
            const float from = static_cast<float>(sum / limit) * half;
            sum += v;
            const float to = static_cast<float>(sum / limit) * half;
            draw->AddRectFilled(ImVec2(at.x + c * cell, axis - std::max(from, to)),
                                ImVec2(at.x + (c + 1) * cell - 1, axis - std::min(from, to)), fill);
        };
        for (int i = 0; i < shown; ++i)
            slice(w.contributions[static_cast<size_t>(order[i]) * d + c], kTopKeys[i]);
        // The other keys as one slice per sign: a self-attention site has thousands, each drawn every frame.
        double rest_up = 0, rest_down = 0;
        for (int j = 0; j < keys; ++j) {
            const double v = w.contributions[static_cast<size_t>(j) * d + c];
            if (colour[j] < 0) (v > 0 ? rest_up : rest_down) += v;
        }
        slice(rest_up, kRest);
        slice(rest_down, kRest);
    }
    draw->AddLine(ImVec2(at.x, axis), ImVec2(at.x + width, axis), IM_COL32(200, 200, 200, 255));
    ImGui::InvisibleButton("walk_contributions", ImVec2(width, height));
    record_region(s, "walk_contributions");
    if (ImGui::IsItemHovered()) {
        const int c = std::clamp(static_cast<int>((ImGui::GetIO().MousePos.x - at.x) / cell), 0, d - 1);
        ImGui::SetTooltip("O[%d] = %.6g", c, w.out[c]);
    }
    for (int i = 0; i < shown; ++i) {
        if (i) ImGui::SameLine();
        ImGui::ColorButton(("##key" + std::to_string(i)).c_str(), ImGui::ColorConvertU32ToFloat4(kTopKeys[i]),
                           ImGuiColorEditFlags_NoTooltip, ImVec2(10, 10));
        ImGui::SameLine();
        ImGui::Text("%s P=%.3g", w.key_labels[order[i]].c_str(), w.probs[order[i]]);
    }
}

void stage_output(Ui& ui, const WalkView& w) {
    auto& s = ui.state;
    if (w.out.empty()) {
        ImGui::TextDisabled("no V for this call");
        return;
    }
    ImGui::TextWrapped(
        "O = sum_j P_j v_j: every key's value vector weighted by its attention. Each channel of O "
        "as a stack of the keys' contributions:");
    contribution_chart(s, w, std::max(60.0f, ImGui::GetContentRegionAvail().y * 0.4f));
    ImGui::TextUnformatted("O of this head:");
    strip(s, "walk_out", w.out, 16);
    ImGui::Text("the %d heads' O joined (%zu channels), this head outlined:", w.heads, w.joined.size());
    strip(s, "walk_joined", w.joined, 16, w.head_dim, w.key.head);
    ImGui::TextWrapped("W_out joined + b_out: what this attention adds to the residual stream at the query:");
    strip(s, "walk_projected", w.projected, 16);
}

void stage_heads_guidance(Ui& ui, const WalkView& w) {
    auto& s = ui.state;
    ImGui::TextWrapped(
        "Heads: W_q, W_k and W_v make %zu channels, split into %d heads of %d; each head attends on "
        "its own and their outputs are joined again before W_out.",
        w.joined.size(), w.heads, w.head_dim);
    strip(s, "walk_heads", w.joined, 14, w.head_dim, w.key.head);
    if (w.other_probs.empty()) {
        ImGui::TextDisabled("no guidance: the batch has one half");
        return;
    }
    const bool cond = w.key.batch != 0;
    ImGui::TextWrapped(
        "Guidance: the batch holds the negative prompt's half and the prompt's; both run through "
        "every site. This query's P in each:");
    const float table = ImGui::GetContentRegionAvail().y -
                        (w.eps_guided.empty() ? 1 : 5) * ImGui::GetTextLineHeightWithSpacing();
    const char* names[] = {cond ? "P, prompt (cond)" : "P, negative (uncond)",
                           cond ? "P, negative (uncond)" : "P, prompt (cond)"};
    if (w.key.self)
        grid_maps(ui, w, {{names[0], &w.probs}, {names[1], &w.other_probs}});
    else
        key_table(s, w, {{names[0], &w.probs, kOtherBar}, {names[1], &w.other_probs, kBar}},
                  std::max(60.0f, table));
    if (w.eps_guided.empty()) return;
    ImGui::Text("the U-Net's two predictions at latent pixel (%d,%d), combined: eps = uncond + %.3g x (cond "
                "- uncond)",
                w.latent_x, w.latent_y, w.guidance_scale);
    for (size_t c = 0; c < w.eps_guided.size(); ++c)
        ImGui::Text("  channel %zu: %.5g + %.3g x (%.5g - %.5g) = %.5g", c, w.eps_uncond[c], w.guidance_scale,
                    w.eps_cond[c], w.eps_uncond[c], w.eps_guided[c]);
}

// The call and query the selection names; empty (step -1) before a step has run.
WalkKey wanted(const UiState& s) {
    WalkKey k;
    const auto* site = selected_site(s);
    if (!site) return k;
    k.capture = s.snap.capture_version;
    k.step = shown_step(s);
    k.index = site->index;
    k.self = site->self;
    k.batch = s.view.half == GuidanceHalf::Uncond && site->batch == 2 ? 0 : -1;
    k.head = s.view.head_mode == HeadMode::Single ? std::clamp(s.view.head, 0, site->heads - 1) : 0;
    const int x = std::clamp(static_cast<int>(s.view.query_x * site->width), 0, site->width - 1);
    const int y = std::clamp(static_cast<int>(s.view.query_y * site->height), 0, site->height - 1);
    k.query = static_cast<int64_t>(y) * site->width + x;
    return k;
}

void transport(UiState& s) {
    if (ImGui::ArrowButton("walk_prev", ImGuiDir_Left)) s.walk_stage = std::max(0, s.walk_stage - 1);
    ImGui::SameLine();
    if (ImGui::ArrowButton("walk_next", ImGuiDir_Right))
        s.walk_stage = std::min(kStageCount - 1, s.walk_stage + 1);
    ImGui::SameLine();
    if (ImGui::Button(s.walk_playing ? "Pause" : "Play")) {
        s.walk_playing = !s.walk_playing;
        if (s.walk_playing && s.walk_stage == kStageCount - 1) s.walk_stage = 0;
        s.walk_stage_since = ImGui::GetTime();
    }
    if (s.walk_playing && ImGui::GetTime() - s.walk_stage_since > kPlaySeconds) {
        s.walk_stage_since = ImGui::GetTime();
        if (++s.walk_stage >= kStageCount - 1) s.walk_playing = false;
    }
    for (int i = 0; i < kStageCount; ++i) {
        ImGui::SameLine();
        if (ImGui::RadioButton(kStages[i], s.walk_stage == i)) {
            s.walk_stage = i;
            s.walk_playing = false;
        }
    }
}

} // namespace

void panel_walkthrough(Ui& ui) {
    auto& s = ui.state;
    ui.worker.take_walk(s.walk, s.walk_version);
    const auto want = wanted(s);
    if (want.step >= 0 && !s.snap.busy && want != s.walk_asked) {
        ui.worker.walk(want);
        s.walk_asked = want;
    }
    if (!s.snap.error.empty()) error_text(s.snap.error);
    if (s.snap.busy) ImGui::TextDisabled("%s...", s.snap.task.c_str());
    const auto& w = s.walk;
    if (w.empty()) {
        if (!s.snap.busy)
            ImGui::TextDisabled(want.step < 0 ? "no step has run yet" : "taking the query apart...");
        return;
    }
    transport(s);
    ImGui::Text("step %d, index %d %s-attention (%dx%d), head %d of %d, query (%lld,%lld)%s", w.key.step + 1,
                w.key.index, w.key.self ? "self" : "cross", w.width, w.height, w.key.head, w.heads,
                static_cast<long long>(w.key.query % w.width), static_cast<long long>(w.key.query / w.width),
                w.batch_items < 2  ? ""
                : w.key.batch == 0 ? ", negative prompt's half"
                                   : ", prompt's half");
    if (w.key != want) ImGui::TextDisabled("(updating to the selection)");
    ImGui::Separator();
    switch (s.walk_stage) {
    case 0:
        stage_query(ui, w);
        break;
    case 1:
        stage_keys(ui, w);
        break;
    case 2:
        stage_scores(ui, w);
        break;
    case 3:
        stage_softmax(ui, w);
        break;
    case 4:
        stage_output(ui, w);
        break;
    default:
        stage_heads_guidance(ui, w);
        break;
    }
}

} // namespace attnscope::gui
