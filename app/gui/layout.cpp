#include "layout.h"

#include "panels.h"

#include <algorithm>

namespace attnscope::gui {

namespace {

constexpr ImGuiWindowFlags kPanel = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoCollapse;

// One panel at a place the layout chose; returns its size after any resizing by the user this frame.
ImVec2 panel(Ui& ui, const char* title, ImVec2 pos, ImVec2 size, void (*contents)(Ui&),
             ImGuiWindowFlags flags = kPanel) {
    ImGui::SetNextWindowPos(pos, ImGuiCond_Always);
    ImGui::SetNextWindowSize(size, ImGuiCond_Always);
    ImGui::Begin(title, nullptr, flags);
    const ImVec2 now = ImGui::GetWindowSize();
    contents(ui);
    ImGui::End();
    return now;
}

// The centre panel's views as tabs; a script or a run just started may bring one to the front.
void views(Ui& ui) {
    auto& s = ui.state;
    if (!ImGui::BeginTabBar("views")) return;
    const struct {
        CentreTab tab;
        const char* name;
        void (*contents)(Ui&);
    } tabs[] = {{CentreTab::Image, "Image", panel_image},
                {CentreTab::Guidance, "Guidance", panel_guidance},
                {CentreTab::Compare, "Compare", panel_compare},
                {CentreTab::Branches, "Branches", panel_branches},
                {CentreTab::TokenMass, "Token mass", panel_token_mass},
                {CentreTab::Int8, "int8", panel_int8},
                {CentreTab::Walkthrough, "Walk-through", panel_walkthrough},
                {CentreTab::Tour, "U-Net tour", panel_tour},
                {CentreTab::Sweep, "LoRA sweep", panel_sweep}};
    for (const auto& t : tabs) {
        const ImGuiTabItemFlags flags = s.show_tab == t.tab ? ImGuiTabItemFlags_SetSelected : 0;
        if (ImGui::BeginTabItem(t.name, nullptr, flags)) {
            s.tab = t.tab;
            t.contents(ui);
            ImGui::EndTabItem();
        }
    }
    s.show_tab.reset();
    ImGui::EndTabBar();
}

float share(float part, float whole, float lo, float hi) {
    return std::clamp(part / whole, lo, hi);
}

} // namespace

void draw_layout(Ui& ui) {
    auto& l = ui.state.layout;
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const ImVec2 o = vp->WorkPos;
    const float width = vp->WorkSize.x;
    const float status_h = ImGui::GetFrameHeight() + ImGui::GetStyle().WindowPadding.y * 2;
    const float height = std::max(100.0f, vp->WorkSize.y - status_h);
    const float left = l.left * width, right = l.right * width, centre = width - left - right;
    // Buttons, the timeline, the step line (a checkbox) and the title bar.
    const float transport_h = ImGui::GetFrameHeightWithSpacing() * 4 + ImGui::GetStyle().WindowPadding.y * 2;
    const float tokens_h = l.tokens * height;

    const ImVec2 model = panel(ui, "Model and prompt", o, ImVec2(left, l.model_split * height), panel_model);
    l.left = share(model.x, width, 0.12f, 0.45f);
    l.model_split = share(model.y, height, 0.2f, 0.85f);
    panel(ui, "Teaching: shapes and the formula", ImVec2(o.x, o.y + l.model_split * height),
          ImVec2(left, (1 - l.model_split) * height), panel_teaching);

    panel(ui, "Transport", ImVec2(o.x + left, o.y), ImVec2(centre, transport_h), panel_transport,
          kPanel | ImGuiWindowFlags_NoResize);
    panel(ui, "Image and attention", ImVec2(o.x + left, o.y + transport_h),
          ImVec2(centre, height - transport_h - tokens_h), views, kPanel | ImGuiWindowFlags_NoResize);
    const ImVec2 tokens = panel(ui, "Tokens", ImVec2(o.x + left, o.y + height - tokens_h),
                                ImVec2(centre, tokens_h), panel_tokens);
    l.tokens = share(tokens.y, height, 0.08f, 0.5f);

    const ImVec2 grid = panel(ui, "Index grid (U-Net sites)", ImVec2(o.x + width - right, o.y),
                              ImVec2(right, l.grid_split * height), panel_index_grid);
    l.right = share(grid.x, width, 0.12f, 0.45f);
    l.grid_split = share(grid.y, height, 0.2f, 0.85f);
    panel(ui, "Heads", ImVec2(o.x + width - right, o.y + l.grid_split * height),
          ImVec2(right, (1 - l.grid_split) * height), panel_heads);

    panel(ui, "##status", ImVec2(o.x, o.y + height), ImVec2(width, status_h), panel_status,
          kPanel | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
}

} // namespace attnscope::gui
