// The LoRA sweep tab: the session's settings run again at each scale of one loaded LoRA (the model panel's
// "sweep" button), the images in a row and the followed tokens' maps below on one range; Export writes the
// strip and what each scale gave.
#include "export_map.h"
#include "panels.h"
#include "widgets.h"

#include <cstdio>
#include <filesystem>
#include <imgui_stdlib.h>

namespace attnscope::gui {

void panel_sweep(Ui& ui) {
    auto& s = ui.state;
    if (!s.sweep) {
        ImGui::TextWrapped(
            "A LoRA-scale sweep runs this session's settings again with one loaded LoRA at several "
            "scales and shows where the selected tokens attend at each: load a model with a LoRA "
            "(the model panel's LoRA field), select a token, and press the LoRA's \"sweep\".");
        return;
    }
    const auto& v = *s.sweep;
    ImGui::Text(
        "%s, tokens \"%s\": images above, maps below (P summed over sites, steps averaged, %.3g..%.3g)",
        std::filesystem::path(v.lora).filename().string().c_str(), v.tokens.c_str(), v.lo, v.hi);
    if (const auto* strip = ui.textures.find_image(kSweepImage)) {
        const ImVec2 avail(ImGui::GetContentRegionAvail().x, ImGui::GetContentRegionAvail().y - 60);
        const Rect r = fit_image(*strip, avail, static_cast<float>(v.strip.width) / v.strip.height);
        record_region(s, "sweep_strip", ImVec2(r.x, r.y), ImVec2(r.x + r.w, r.y + r.h));
        // The scales under their columns.
        const float column = r.w * (v.tile_width + v.gap) / v.strip.width;
        for (size_t k = 0; k < v.scales.size(); ++k) {
            if (k > 0) ImGui::SameLine(column * k + ImGui::GetStyle().WindowPadding.x);
            ImGui::Text("%.3g", v.scales[k]);
        }
    }
    if (ImGui::Button("Export sweep")) {
        try {
            s.message = "wrote " + export_sweep(v, s.sweep_export_path) + " and its JSON";
        } catch (const std::exception& e) {
            s.message = e.what();
        }
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(std::max(80.0f, ImGui::GetContentRegionAvail().x * 0.5f));
    ImGui::InputText("##sweep_export", &s.sweep_export_path);
    if (!s.message.empty()) {
        ImGui::SameLine();
        ImGui::TextUnformatted(s.message.c_str());
    }
}

} // namespace attnscope::gui
