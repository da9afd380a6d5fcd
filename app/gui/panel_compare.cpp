// The compare view (issue 8, the GUI side of `attnscope compare`): A is the loaded session, B a backend and
// precision chosen here, run in lockstep by the worker. It shows the divergence grids (a click selects that
// site and step), P_A, P_B and |P_A - P_B| of the selection, and the final images with PSNR and SSIM.
#include "panels.h"
#include "widgets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <imgui_stdlib.h>
#include <string>

namespace attnscope::gui {

namespace {

constexpr const char* kDtypes[] = {"f32", "f16", "bf16", "f64"};

// B as the model with a LoRA: its file and scale (then only free running means anything).
void lora_control(Ui& ui) {
    auto& c = ui.state.compare;
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("B's LoRA:");
    ImGui::SameLine();
    auto path = c.loras.empty() ? std::string() : c.loras.front().path;
    auto scale = static_cast<float>(c.loras.empty() ? 1.0 : c.loras.front().scale);
    ImGui::SetNextItemWidth(260);
    const bool edited = ImGui::InputTextWithHint("##b_lora", "none: the model as A has it", &path);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(110);
    const bool scaled = ImGui::SliderFloat("scale##b_lora", &scale, -2.0f, 2.0f, "%.2f");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("B runs the model with this LoRA added, A without: the model against itself with a "
                          "LoRA (free running)");
    if (!edited && !scaled) return;
    c.loras.clear();
    if (!path.empty()) c.loras.push_back({path, scale});
    if (!c.loras.empty()) c.same_inputs = false;
}

// B as another checkpoint of the same layout: model against model.
void model_control(Ui& ui) {
    auto& c = ui.state.compare;
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("B's model:");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(260);
    if (ImGui::InputTextWithHint("##b_model", "none: A's model", &c.model) && !c.model.empty())
        c.same_inputs = false;
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "a checkpoint of the same U-Net layout (a fine-tune) for B; A keeps the loaded model "
            "(free running)");
}

void controls(Ui& ui) {
    auto& s = ui.state;
    auto& c = s.compare;
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("B:");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(90);
    if (ImGui::BeginCombo("backend", c.backend.c_str())) {
        for (const auto& name : s.snap.backends)
            if (ImGui::Selectable(name.c_str(), name == c.backend)) c.backend = name;
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(70);
    if (ImGui::BeginCombo("dtype", c.dtype.empty() ? "as A" : c.dtype.c_str())) {
        if (ImGui::Selectable("as A", c.dtype.empty())) c.dtype.clear();
        for (const char* d : kDtypes)
            if (ImGui::Selectable(d, c.dtype == d)) c.dtype = d;
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    int mode = c.same_inputs ? 0 : 1;
    ImGui::SetNextItemWidth(110);
    if (ImGui::Combo("mode", &mode, "same inputs\0free running\0")) c.same_inputs = mode == 0;
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "same inputs: B's backend runs on the q, k, v of A's forward pass (each kernel's own "
            "error)\nfree running: each run goes its own way (errors compound)");
    ImGui::SameLine();
    int from = c.from_step + 1;
    ImGui::SetNextItemWidth(90);
    if (ImGui::InputInt("from step", &from))
        c.from_step = std::clamp(from, 1, std::max(1, s.snap.total_steps)) - 1;
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("A and B share the session's steps before this one (run first where the session "
                          "has not reached it), then go on each with its own backend: where does error "
                          "appear when only the late steps differ?");
    ImGui::SameLine();
    ImGui::BeginDisabled(!s.snap.session_ready || s.snap.busy);
    if (ImGui::Button("Compare")) ui.worker.compare(c);
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("run the session's settings from the chosen step on A (its backend and dtype) and "
                          "on B, stepped together");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!s.snap.busy);
    if (ImGui::Button("Cancel")) ui.worker.cancel();
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!s.snap.comparison || s.snap.busy);
    if (ImGui::Button("Clear")) ui.worker.drop_comparison();
    ImGui::EndDisabled();
}

// One divergence grid: a cell per (compared step, site); hovering tells the error, a click selects it.
void grid(Ui& ui, size_t slot, const ViewMap& map, bool self, ImVec2 size) {
    auto& s = ui.state;
    const auto& c = *s.snap.comparison;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton(self ? "grid_self" : "grid_cross", size);
    const std::string region = self ? "divergence_self" : "divergence_cross";
    record_region(s, region);
    auto* draw = ImGui::GetWindowDrawList();
    if (const auto* tex = ui.textures.find(slot))
        draw->AddImage(tex->imgui_id(), at, ImVec2(at.x + size.x, at.y + size.y));
    const float cw = size.x / map.width, ch = size.y / map.height;
    const int shown = shown_step(s) - c.from_step;
    if (s.view.self == self && !s.view.aggregate && shown >= 0 && shown < map.width) {
        const ImVec2 a(at.x + shown * cw, at.y + (s.view.index - 1) * ch);
        draw->AddRect(a, ImVec2(a.x + cw, a.y + ch), kSelectedOutline, 0, 0, 2);
    }
    if (!ImGui::IsItemHovered()) return;
    const ImVec2 m = ImGui::GetIO().MousePos;
    const int column = std::clamp(static_cast<int>((m.x - at.x) / cw), 0, map.width - 1);
    const int row = std::clamp(static_cast<int>((m.y - at.y) / ch), 0, map.height - 1);
    const float v = map.values[static_cast<size_t>(row) * map.width + column];
    const int step = c.from_step + column;
    if (v <= s.maps.divergence_range.lo)
        ImGui::SetTooltip("step %d, index %d %s: rel L2 of O <= 1e%.0f", step + 1, row + 1,
                          self ? "self" : "cross", s.maps.divergence_range.lo);
    else
        ImGui::SetTooltip("step %d, index %d %s: rel L2 of O %.3g", step + 1, row + 1,
                          self ? "self" : "cross", std::pow(10.0, v));
    if (ImGui::IsItemClicked()) {
        s.view.index = row + 1;
        s.view.self = self;
        s.view.aggregate = false;
        s.view.steps_from = -1;
        s.view.step = step == s.snap.current_step - 1 ? -1 : step;
    }
}

// Both grids, self above cross, with the colour bar of their log scale.
void grids(Ui& ui, float width) {
    auto& s = ui.state;
    const auto& maps = s.maps;
    if (maps.divergence_self.empty()) return;
    const int steps = maps.divergence_self.width, sites = maps.divergence_self.height;
    const float label = ImGui::GetTextLineHeightWithSpacing();
    // Cells wider than tall for a few steps, the whole width for many; SD's 16 sites 3 to 9 pixels tall,
    // SDXL's 70 at least 2.
    const float w = std::clamp(steps * 24.0f, 96.0f, std::max(96.0f, width - kColorbarWidth));
    const float h =
        std::clamp(w * sites / steps, std::max(48.0f, 2.0f * sites), std::max(144.0f, 2.0f * sites));
    const ImVec2 top = ImGui::GetCursorScreenPos();
    ImGui::Text("self-attention: index 1-%d down, steps across", sites);
    grid(ui, kDivergenceSlot, maps.divergence_self, true, ImVec2(w, h));
    ImGui::TextUnformatted("cross-attention");
    grid(ui, kDivergenceSlot + 1, maps.divergence_cross, false, ImVec2(w, h));
    colorbar(ui, ImVec2(top.x + w + 8, top.y + label), 2 * h + label, maps.divergence_range,
             "divergence_colorbar");
    ImGui::Dummy(ImVec2(w + kColorbarWidth, 0)); // the colour bar's place in the group
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + w + kColorbarWidth);
    ImGui::TextDisabled("log10 rel L2 of B's attention output O against A's");
    ImGui::PopTextWrapPos();
}

std::string psnr_text(const ImagePair& p) {
    if (std::isinf(p.psnr_db)) return "identical images (PSNR inf)";
    char text[128];
    if (p.ssim)
        std::snprintf(text, sizeof text, "PSNR %.1f dB, SSIM %.4f, max |A-B| %.3g", p.psnr_db, *p.ssim,
                      p.max_abs);
    else
        std::snprintf(text, sizeof text, "PSNR %.1f dB, max |A-B| %.3g (too small for SSIM)", p.psnr_db,
                      p.max_abs);
    return text;
}

std::string range_text(ValueRange r) {
    char text[48];
    std::snprintf(text, sizeof text, "%.3g..%.3g", r.lo, r.hi);
    return text;
}

} // namespace

void panel_compare(Ui& ui) {
    auto& s = ui.state;
    controls(ui);
    lora_control(ui);
    model_control(ui);
    if (!s.snap.error.empty()) error_text(s.snap.error);
    if (!s.snap.comparison) {
        ImGui::TextDisabled("No comparison yet: choose B's backend and dtype, then Compare. The session's "
                            "settings run again on A and on B, stepped together, from step 1 or from a later "
                            "step whose predecessors they share.");
        return;
    }
    const auto& c = *s.snap.comparison;
    ImGui::TextWrapped("A: %s   B: %s   %s, steps %d-%d%s   %s", c.a.c_str(), c.b.c_str(), c.mode.c_str(),
                       c.from_step + 1, c.from_step + c.steps,
                       c.from_step > 0 ? " (the steps before shared)" : "", c.worst.c_str());
    const float left = std::min(ImGui::GetContentRegionAvail().x * 0.45f, 420.0f);
    ImGui::BeginGroup();
    grids(ui, left);
    ImGui::EndGroup();
    ImGui::SameLine(0, 16);
    ImGui::BeginGroup();
    const float width = ImGui::GetContentRegionAvail().x;
    const auto& images = s.images.compare;
    if (images.a.width > 0) {
        image_row(s,
                  {ui.textures.find_image(kCompareImages), ui.textures.find_image(kCompareImages + 1),
                   ui.textures.find_image(kCompareImages + 2)},
                  {"image A", "image B", "|A - B|, max = white"},
                  static_cast<float>(images.a.width) / images.a.height, width, "compare_image");
        ImGui::TextUnformatted(psnr_text(images).c_str());
    }
    ImGui::Spacing();
    const auto& pair = s.maps.compare;
    if (!pair.error.empty() || pair.a.empty()) {
        error_text(!pair.error.empty()    ? pair.error
                   : s.maps.error.empty() ? "no map for this selection"
                                          : s.maps.error);
    } else {
        ImGui::TextUnformatted(map_caption(s.maps.request).c_str());
        ImGui::Text("P_A, P_B on %s; |P_A - P_B| on %s", range_text(s.ranges.compare).c_str(),
                    range_text(s.ranges.compare_diff).c_str());
        image_row(s,
                  {ui.textures.find(kComparePair), ui.textures.find(kComparePair + 1),
                   ui.textures.find(kComparePair + 2)},
                  {"P_A", "P_B", "|P_A - P_B|"}, static_cast<float>(pair.a.width) / pair.a.height, width,
                  "compare_map");
    }
    ImGui::EndGroup();
}

} // namespace attnscope::gui
