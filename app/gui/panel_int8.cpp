// The int8 view (issue 8, the GUI side of `attnscope inspect-int8`): what our int8 kernel's quantization
// does to the selected index's call at the shown step, emulated by core on the captured Q and K on the
// worker thread. It follows the selection: a selection not yet inspected is asked for once the worker is
// free (a failure is not retried until the selection changes). Shown: the exact and int8 scores'
// histograms over each other, the quantization step and saturation of every 64-token block of Q and K, and
// the error in P per row (batch item and head) and per key token.
#include "panels.h"
#include "widgets.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace attnscope::gui {

namespace {

// inspect-int8's chart colours, translucent so that overlaid bars both show.
constexpr ImU32 kExact = IM_COL32(70, 130, 220, 190), kInt8 = IM_COL32(240, 160, 40, 150),
                kErrorMax = IM_COL32(210, 80, 80, 255), kErrorMean = IM_COL32(240, 160, 40, 255);

// A row of Q or K is batch item * heads + head; under guidance item 0 is the negative prompt's half.
std::string row_name(const Int8View& v, int row) {
    const int batch = row / std::max(1, v.heads), items = v.rows / std::max(1, v.heads);
    const std::string half = items == 2 ? (batch == 0 ? "uncond" : "cond") : "batch " + std::to_string(batch);
    return half + " head " + std::to_string(row % std::max(1, v.heads));
}

std::string call_name(const Int8Key& key) {
    return "step " + std::to_string(key.step + 1) + ", index " + std::to_string(key.index) + " " +
           (key.self ? "self" : "cross");
}

// Asks the worker for the selection's inspection when it has none for it yet.
void follow_selection(Ui& ui) {
    auto& s = ui.state;
    const Int8Key wanted{s.snap.capture_version, shown_step(s), s.view.index, s.view.self};
    if (wanted.step < 0 || s.snap.busy || wanted == s.int8_asked) return;
    ui.worker.inspect_int8(wanted);
    s.int8_asked = wanted;
}

void summary(const Int8View& v) {
    ImGui::TextWrapped("%s  %s: %d heads x %d, %d rows, %lld queries x %lld keys, scale %.4g",
                       call_name(v.key).c_str(), v.module.c_str(), v.heads, v.head_dim, v.rows,
                       static_cast<long long>(v.seq_q), static_cast<long long>(v.seq_k), v.scale);
    ImGui::TextWrapped("score error max %.3g, mean %.3g   LSE error max %.3g   P error max %.3g, mean %.3g",
                       v.score_error.max_abs, v.score_error.mean_abs, v.lse_error.max_abs, v.p_error.max_abs,
                       v.p_error.mean_abs);
    ImGui::TextWrapped("at +-127 (saturated): Q %lld of %lld values, K %lld of %lld",
                       static_cast<long long>(v.q.saturated_total), static_cast<long long>(v.q.values),
                       static_cast<long long>(v.k.saturated_total), static_cast<long long>(v.k.values));
}

void histogram(UiState& s, const Int8View& v, ImVec2 size) {
    ImGui::Text("scores %.4g..%.4g in %zu bins: exact (blue), int8 (orange) over it", v.lo, v.hi,
                v.exact.size());
    const int bin = bar_chart(s, "int8_histogram", size, {{&v.exact, kExact}, {&v.quantized, kInt8}});
    if (bin < 0) return;
    const double w = (v.hi - v.lo) / std::max<size_t>(1, v.exact.size());
    ImGui::SetTooltip("scores %.4g..%.4g\nexact: %.0f\nint8: %.0f", v.lo + bin * w, v.lo + (bin + 1) * w,
                      v.exact[bin], v.quantized[bin]);
}

// Max and mean |P_int8 - P| per row or per key: `what` names the bars in the tooltip.
void p_errors(UiState& s, const std::vector<AbsErrorView>& errors, const std::string& name, ImVec2 size,
              const std::function<std::string(int)>& what) {
    std::vector<double> top, mean;
    for (const auto& e : errors) {
        top.push_back(e.max_abs);
        mean.push_back(e.mean_abs);
    }
    const int i = bar_chart(s, name, size, {{&top, kErrorMax}, {&mean, kErrorMean}});
    if (i >= 0 && i < static_cast<int>(errors.size()))
        ImGui::SetTooltip("%s\n|P_int8 - P| max %.3g, mean %.3g", what(i).c_str(), top[i], mean[i]);
}

// Every (row, block) step of one operand, row by row; the tooltip adds the block's saturation.
void block_steps(UiState& s, const Int8View& v, const Int8OperandView& o, const std::string& name,
                 ImU32 colour, ImVec2 size) {
    std::vector<double> steps;
    std::vector<std::pair<int, int>> where;
    for (size_t r = 0; r < o.steps.size(); ++r)
        for (size_t b = 0; b < o.steps[r].size(); ++b) {
            steps.push_back(o.steps[r][b]);
            where.emplace_back(static_cast<int>(r), static_cast<int>(b));
        }
    const int i = bar_chart(s, name, size, {{&steps, colour}});
    if (i < 0 || i >= static_cast<int>(steps.size())) return;
    const auto [row, block] = where[i];
    ImGui::SetTooltip("row %d (%s), block %d: step %.4g, %lld values at +-127", row, row_name(v, row).c_str(),
                      block, steps[i], static_cast<long long>(o.saturated[row][block]));
}

// Two charts side by side, each half the width, with captions.
template <typename Left, typename Right>
void side_by_side(const char* left_caption, Left left, const char* right_caption, Right right, float height) {
    const float w = (ImGui::GetContentRegionAvail().x - 12) / 2;
    ImGui::BeginGroup();
    ImGui::TextUnformatted(left_caption);
    left(ImVec2(w, height));
    ImGui::EndGroup();
    ImGui::SameLine(0, 12);
    ImGui::BeginGroup();
    ImGui::TextUnformatted(right_caption);
    right(ImVec2(w, height));
    ImGui::EndGroup();
}

} // namespace

void panel_int8(Ui& ui) {
    auto& s = ui.state;
    ui.worker.take_int8(s.int8, s.int8_version);
    follow_selection(ui);
    if (!s.snap.error.empty()) error_text(s.snap.error);
    const auto& v = s.int8;
    const Int8Key shown{s.snap.capture_version, shown_step(s), s.view.index, s.view.self};
    if (s.snap.busy) ImGui::TextDisabled("%s...", s.snap.task.c_str());
    if (v.empty()) {
        if (s.snap.busy) return;
        if (shown.step < 0)
            ImGui::TextDisabled("no step has run yet");
        else
            ImGui::TextDisabled("no inspection of %s yet", call_name(shown).c_str());
        return;
    }
    if (v.key != shown)
        ImGui::TextDisabled("showing %s; the selection is %s", call_name(v.key).c_str(),
                            call_name(shown).c_str());
    summary(v);
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const float chart = std::clamp((ImGui::GetContentRegionAvail().y - 5 * line - 16) / 3.2f, 32.0f, 180.0f);
    histogram(s, v, ImVec2(ImGui::GetContentRegionAvail().x, chart * 1.2f));
    ImGui::TextUnformatted("|P_int8 - P|, max (red) and mean (orange):");
    side_by_side(
        "per row (batch half, head)",
        [&](ImVec2 size) {
            p_errors(s, v.p_error_by_row, "int8_p_by_row", size, [&](int r) { return row_name(v, r); });
        },
        "per key token",
        [&](ImVec2 size) {
            p_errors(s, v.p_error_by_key, "int8_p_by_key", size,
                     [](int k) { return "key token " + std::to_string(k); });
        },
        chart);
    ImGui::TextUnformatted("the quantization step of every 64-token block, row by row:");
    side_by_side(
        "Q", [&](ImVec2 size) { block_steps(s, v, v.q, "int8_q_steps", kExact, size); }, "K, after smoothing",
        [&](ImVec2 size) { block_steps(s, v, v.k, "int8_k_steps", kInt8, size); }, chart);
}

} // namespace attnscope::gui
