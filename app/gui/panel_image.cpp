#include "export_map.h"
#include "panels.h"
#include "widgets.h"

#include <algorithm>
#include <imgui_stdlib.h>

namespace attnscope::gui {

namespace {

// What the maps' values are and which guidance half they are of (attnscope maps --quantity, --batch).
void value_controls(ViewRequest& v) {
    constexpr float kCombo = 120, kLabel = 70;
    same_line_if_fits(kCombo + kLabel);
    int quantity = static_cast<int>(v.quantity);
    ImGui::SetNextItemWidth(kCombo);
    if (ImGui::Combo("quantity", &quantity, "P\0score\0entropy\0"))
        v.quantity = static_cast<Quantity>(quantity);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("P: softmax(QK^T/sqrt(d)), the default\nscore: scale q.k, the logit before the "
                          "softmax\nentropy: -sum_j p_ij ln p_ij of each query's row, in nats (a map over "
                          "the queries: no token or pixel needed)");
    same_line_if_fits(kCombo + kLabel);
    int half = static_cast<int>(v.half);
    ImGui::SetNextItemWidth(kCombo);
    if (ImGui::Combo("guidance", &half, "cond\0uncond\0cond - uncond\0"))
        v.half = static_cast<GuidanceHalf>(half);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("which half of the classifier-free guidance batch the maps show: cond, the "
                          "prompt's; uncond, the negative prompt's; or cond - uncond, signed, coloured on a "
                          "range symmetric about 0");
}

void display_controls(UiState& s) {
    auto& d = s.display;
    ImGui::SetNextItemWidth(90);
    if (ImGui::BeginCombo("colormap", colormap_name(d.colormap))) {
        for (const auto c : kColormaps)
            if (ImGui::Selectable(colormap_name(c), c == d.colormap)) d.colormap = c;
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(90);
    ImGui::SliderFloat("opacity", &s.opacity, 0.0f, 1.0f, "%.2f");
    ImGui::SameLine();
    const char* norms[] = {"per map", "global", "fixed range"};
    int norm = static_cast<int>(d.normalization);
    ImGui::SetNextItemWidth(100);
    if (ImGui::Combo("normalize", &norm, norms, 3)) d.normalization = static_cast<Normalization>(norm);
    if (d.normalization == Normalization::Fixed) {
        // Probabilities lie in [0, 1]; scores, entropies and differences do not.
        const bool unit = s.view.quantity == Quantity::Probability && s.view.half != GuidanceHalf::Diff;
        ImGui::SameLine();
        ImGui::SetNextItemWidth(130);
        ImGui::DragFloatRange2("range", &d.fixed_lo, &d.fixed_hi, 0.001f, unit ? 0.0f : -100.0f,
                               unit ? 1.0f : 100.0f, "%.3f");
    }
    int mode = s.view.self ? 1 : 0;
    if (ImGui::RadioButton("cross: tokens", &mode, 0)) s.view.self = false;
    ImGui::SameLine();
    if (ImGui::RadioButton("self: click or drag", &mode, 1)) s.view.self = true;
    ImGui::SameLine();
    ImGui::Checkbox("all sites (sum)", &s.view.aggregate);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("every captured site up-sampled to the latent grid: P summed, scores and "
                          "entropies averaged");
    value_controls(s.view);
}

} // namespace

void panel_image(Ui& ui) {
    auto& s = ui.state;
    display_controls(s);

    const auto* preview = ui.textures.find_image(kPreviewImage);
    const float bar_w = kColorbarWidth;
    ImVec2 avail = ImGui::GetContentRegionAvail();
    avail.x -= bar_w;
    avail.y -= ImGui::GetFrameHeightWithSpacing() * 2;
    if (!preview || avail.x < 16 || avail.y < 16) {
        ImGui::TextDisabled(s.snap.busy ? "working..." : "load a model to start");
        return;
    }
    const float aspect = static_cast<float>(s.preview.width) / s.preview.height;
    const Rect r = fit_image(*preview, avail, aspect);
    // Held down: dragging moves the query, and the maps follow as fast as the worker recomputes them.
    const bool pressed = ImGui::IsItemHovered() && ImGui::IsMouseDown(ImGuiMouseButton_Left);
    record_region(s, "image");
    const ImVec2 a(r.x, r.y), b(r.x + r.w, r.y + r.h);
    auto* draw = ImGui::GetWindowDrawList();
    if (const auto* map = ui.textures.find(kMainSlot); map && !s.maps.main.empty()) {
        draw->AddImage(map->imgui_id(), a, b, ImVec2(0, 0), ImVec2(1, 1),
                       IM_COL32(255, 255, 255, static_cast<int>(s.opacity * 255)));
    }
    if (pressed) {
        const ImVec2 m = ImGui::GetIO().MousePos;
        s.view.query_x = std::clamp((m.x - r.x) / r.w, 0.0f, 0.999f);
        s.view.query_y = std::clamp((m.y - r.y) / r.h, 0.0f, 0.999f);
        s.view.self = true;
    }
    if (s.view.self) {
        const ImVec2 q(r.x + s.view.query_x * r.w, r.y + s.view.query_y * r.h);
        draw->AddLine(ImVec2(q.x - 9, q.y), ImVec2(q.x - 3, q.y), kQueryMarker, 2);
        draw->AddLine(ImVec2(q.x + 3, q.y), ImVec2(q.x + 9, q.y), kQueryMarker, 2);
        draw->AddLine(ImVec2(q.x, q.y - 9), ImVec2(q.x, q.y - 3), kQueryMarker, 2);
        draw->AddLine(ImVec2(q.x, q.y + 3), ImVec2(q.x, q.y + 9), kQueryMarker, 2);
        record_region(s, "query", ImVec2(q.x - 9, q.y - 9), ImVec2(q.x + 9, q.y + 9));
    }
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("click or drag: see where this pixel attends (self-attention)");
    colorbar(ui, ImVec2(b.x + 8, a.y), r.h, s.ranges.main, "colorbar", value_label(s.maps.request));

    if (!s.maps.error.empty()) {
        error_text(s.maps.error);
    } else {
        const char* decoder = s.snap.pixel_space ? "pixel-space"
                              : s.preview.full   ? "VAE"
                              : s.snap.has_taesd ? "TAESD"
                                                 : "VAE (no TAESD)";
        ImGui::Text("%s   %s x0 of step %d", map_caption(s.maps.request).c_str(), decoder,
                    s.preview.step + 1);
    }
    if (!s.snap.pixel_space) {
        ImGui::BeginDisabled(s.snap.busy || !s.snap.session_ready);
        if (ImGui::Button("Decode with VAE")) ui.worker.decode_full(shown_step(s));
        ImGui::EndDisabled();
        ImGui::SameLine();
    }
    if (ImGui::Button("Export map")) {
        try {
            const auto files = export_map(s, ui.colormaps, s.export_path);
            s.message = "wrote " + files.front() + " (and 16-bit PNG, JSON)";
        } catch (const std::exception& e) {
            s.message = e.what();
        }
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x * 0.5f));
    ImGui::InputText("##export", &s.export_path);
    if (!s.message.empty()) {
        ImGui::SameLine();
        ImGui::TextDisabled("%s", s.message.c_str());
    }
}

} // namespace attnscope::gui
