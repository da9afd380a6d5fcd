#include "ui.h"

#include <algorithm>

namespace attnscope::gui {

const char* quantity_name(Quantity q) {
    switch (q) {
    case Quantity::Score:
        return "score";
    case Quantity::Entropy:
        return "entropy";
    case Quantity::Probability:
        break;
    }
    return "probability";
}

const char* half_name(GuidanceHalf h) {
    switch (h) {
    case GuidanceHalf::Uncond:
        return "uncond";
    case GuidanceHalf::Diff:
        return "diff";
    case GuidanceHalf::Cond:
        break;
    }
    return "cond";
}

int shown_step(const UiState& s) {
    if (s.snap.current_step == 0) return -1;
    if (s.view.step < 0 || s.view.step >= s.snap.current_step) return s.snap.current_step - 1;
    return s.view.step;
}

const SiteRow* selected_site(const UiState& s) {
    for (const auto& site : s.snap.sites)
        if (site.index == s.view.index && site.self == s.view.self) return &site;
    return nullptr;
}

void start_session(Ui& ui) {
    auto& s = ui.state;
    ui.worker.start_session(s.settings);
    if (s.settings.read_picture && !s.settings.start_image.empty()) {
        s.view.step = -1;
        s.view.steps_from = 0;
    }
}

void fit_head_to_index(UiState& s) {
    if (s.view.head_mode != HeadMode::Single) return;
    for (const auto& site : s.snap.sites)
        if (site.index == s.view.index && s.view.head >= site.heads) {
            s.view.head_mode = HeadMode::Mean;
            s.view.head = 0;
            return;
        }
}

std::string map_caption(const ViewRequest& v) {
    const std::string where = v.aggregate ? "all sites" : "index " + std::to_string(v.index);
    const std::string heads = v.head_mode == HeadMode::Single ? "head " + std::to_string(v.head)
                              : v.head_mode == HeadMode::Max  ? "max of heads"
                                                              : "mean of heads";
    const std::string steps =
        v.steps_from >= 0 && v.steps_from < v.step
            ? "steps " + std::to_string(v.steps_from + 1) + "-" + std::to_string(v.step + 1)
            : "step " + std::to_string(v.step + 1);
    const std::string quantity = v.quantity == Quantity::Score     ? "score (logit)"
                                 : v.quantity == Quantity::Entropy ? "entropy (nats)"
                                                                   : "P";
    const std::string half = v.half == GuidanceHalf::Uncond ? ", negative prompt's half"
                             : v.half == GuidanceHalf::Diff ? ", cond - uncond"
                                                            : "";
    return where + ", " + (v.self ? "self" : "cross") + ", " + quantity + half + ", " + heads + ", " + steps;
}

std::string value_label(const ViewRequest& view) {
    const std::string quantity = view.quantity == Quantity::Score     ? "score"
                                 : view.quantity == Quantity::Entropy ? "H nats"
                                                                      : "P";
    return quantity + (view.half == GuidanceHalf::Diff ? " c-u" : "");
}

void record_region(UiState& s, const std::string& name) {
    record_region(s, name, ImGui::GetItemRectMin(), ImGui::GetItemRectMax());
}

void record_region(UiState& s, const std::string& name, ImVec2 min, ImVec2 max) {
    s.regions[name] = {min.x, min.y, max.x - min.x, max.y - min.y};
}

void record_background(UiState& s) {
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const ImVec2 end(ImGui::GetWindowPos().x + ImGui::GetWindowWidth() - 8,
                     ImGui::GetWindowPos().y + ImGui::GetWindowHeight() - 8);
    if (end.y - at.y > 24) record_region(s, "background", ImVec2(at.x + 8, at.y + 8), end);
}

Rect fit_image(const Texture& texture, ImVec2 size, float aspect) {
    const float w = std::max(1.0f, std::min(size.x, size.y * aspect));
    const float h = std::max(1.0f, w / aspect);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    ImGui::Image(texture.imgui_id(), ImVec2(w, h));
    return {at.x, at.y, w, h};
}

} // namespace attnscope::gui
