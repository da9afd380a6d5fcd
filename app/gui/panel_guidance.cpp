// The guidance view (issue 8's guidance split): the selection's map in the prompt's half of the
// classifier-free guidance batch, in the negative prompt's, and cond - uncond, side by side. The halves
// share a colour bar, so their colours compare; the difference has its own, symmetric about 0.
#include "panels.h"
#include "widgets.h"

#include <algorithm>

namespace attnscope::gui {

void panel_guidance(Ui& ui) {
    auto& s = ui.state;
    if (!s.snap.session_ready) {
        ImGui::TextDisabled("load a model and start a session");
        return;
    }
    const auto& settings = s.snap.session_settings;
    const double cfg = settings.guidance_scale.value_or(s.snap.model_guidance);
    if (cfg <= 1) {
        ImGui::TextDisabled("The session runs without classifier-free guidance (CFG <= 1): it has no "
                            "unconditional half.");
        return;
    }
    ImGui::TextWrapped("prompt: \"%s\"   negative prompt: \"%s\"   CFG %.1f: the U-Net sees both, and the "
                       "step moves along cond - uncond",
                       settings.prompt.c_str(), settings.negative_prompt.c_str(), cfg);
    const auto& pair = s.maps.guidance;
    if (!s.maps.error.empty() || pair.a.empty()) {
        error_text(s.maps.error.empty() ? "no map for this selection" : s.maps.error);
        return;
    }
    auto request = s.maps.request;
    request.half = GuidanceHalf::Cond;
    ImGui::Text("%s; token positions are the prompt's in both halves", map_caption(request).c_str());
    const float width = std::max(48.0f, ImGui::GetContentRegionAvail().x - 2 * kColorbarWidth);
    const ImVec2 top = ImGui::GetCursorScreenPos();
    const float h = image_row(s,
                              {ui.textures.find(kGuidancePair), ui.textures.find(kGuidancePair + 1),
                               ui.textures.find(kGuidancePair + 2)},
                              {"cond: the prompt's half", "uncond: the negative prompt's", "cond - uncond"},
                              static_cast<float>(pair.a.width) / pair.a.height, width, "guidance");
    const float caption = ImGui::GetTextLineHeightWithSpacing();
    const std::string label = value_label(request);
    colorbar(ui, ImVec2(top.x + width + 8, top.y + caption), h, s.ranges.guidance, "guidance_colorbar",
             label);
    colorbar(ui, ImVec2(top.x + width + kColorbarWidth + 8, top.y + caption), h, s.ranges.guidance_diff,
             "guidance_diff_colorbar", label + " c-u");
}

} // namespace attnscope::gui
