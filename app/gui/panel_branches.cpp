// The branch view (the GUI side of `attnscope edit`): attention edits built here in the command line's
// --edit grammar, a branch of the session re-run with them from the shown step, the kept branches, and
// the original beside the shown branch: final images, the selected map in each, their differences.
#include "panels.h"
#include "widgets.h"

#include <cmath>
#include <cstdio>
#include <imgui_stdlib.h>

namespace attnscope::gui {

namespace {

using Where = EditDraft::Where;

// The draft in attnscope edit's grammar, e.g. "token=2:scale=0:renorm@sites=4@steps=5-19"; empty when it
// needs a token selection and there is none.
std::string edit_text(const UiState& s) {
    const auto& d = s.draft;
    std::string t;
    if (d.change == EditDraft::Change::ScaleTokens) {
        if (s.view.tokens.empty()) return {};
        t = "token=";
        for (size_t i = 0; i < s.view.tokens.size(); ++i)
            t += (i ? "," : "") + std::to_string(s.view.tokens[i]);
        char factor[32];
        std::snprintf(factor, sizeof factor, ":scale=%g", d.factor);
        t += factor;
        if (d.renormalize) t += ":renorm";
    } else if (d.change == EditDraft::Change::ZeroHead) {
        t = "head=" + std::to_string(d.head);
    } else {
        t = "backend=" + d.backend;
    }
    if (d.sites == Where::Selected) t += "@sites=" + std::to_string(s.view.index);
    if (d.sites == Where::List) t += "@sites=" + d.site_list;
    const int shown = std::max(0, shown_step(s));
    if (d.steps == Where::Selected)
        t += "@steps=" + std::to_string(shown) + "-" + std::to_string(s.snap.total_steps - 1);
    if (d.steps == Where::List) t += "@steps=" + d.step_list;
    if (d.change != EditDraft::Change::ScaleTokens && d.attn > 0)
        t += d.attn == 1 ? "@attn=self" : "@attn=cross";
    return t;
}

void where(const char* label, Where& w, const std::string& selected, std::string& list) {
    ImGui::PushID(label);
    ImGui::AlignTextToFramePadding();
    ImGui::Text("%s", label);
    int v = static_cast<int>(w);
    ImGui::SameLine(60);
    ImGui::RadioButton("all", &v, 0);
    ImGui::SameLine();
    ImGui::RadioButton(selected.c_str(), &v, 1);
    ImGui::SameLine();
    ImGui::RadioButton("##list", &v, 2);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    ImGui::InputText("##text", &list);
    w = static_cast<Where>(v);
    ImGui::PopID();
}

void builder(Ui& ui) {
    auto& s = ui.state;
    auto& d = s.draft;
    int change = static_cast<int>(d.change);
    ImGui::RadioButton("scale tokens", &change, 0);
    ImGui::SameLine();
    ImGui::RadioButton("zero head", &change, 1);
    ImGui::SameLine();
    ImGui::RadioButton("backend", &change, 2);
    d.change = static_cast<EditDraft::Change>(change);
    if (d.change == EditDraft::Change::ScaleTokens) {
        ImGui::SetNextItemWidth(110);
        ImGui::DragFloat("x", &d.factor, 0.02f, 0.0f, 10.0f, "%.2f");
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("the selected tokens' column of cross-attention P times this (0 removes them)");
        ImGui::SameLine();
        ImGui::Checkbox("renormalize", &d.renormalize);
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip(
                "divide every row by its new sum: the softmax with those logits shifted by ln x");
        if (s.view.tokens.empty()) ImGui::TextDisabled("select the tokens in the token strip");
    } else if (d.change == EditDraft::Change::ZeroHead) {
        ImGui::SetNextItemWidth(110);
        ImGui::InputInt("head (from 0)", &d.head);
        d.head = std::max(0, d.head);
    } else {
        ImGui::SetNextItemWidth(110);
        if (ImGui::BeginCombo("computes the calls", d.backend.c_str())) {
            for (const auto& name : s.snap.backends)
                if (name != "auto" && ImGui::Selectable(name.c_str(), name == d.backend)) d.backend = name;
            ImGui::EndCombo();
        }
    }
    where("sites", d.sites, "index " + std::to_string(s.view.index), d.site_list);
    where("steps", d.steps, "from step " + std::to_string(std::max(0, shown_step(s)) + 1), d.step_list);
    if (d.change != EditDraft::Change::ScaleTokens) {
        ImGui::SetNextItemWidth(110);
        ImGui::Combo("attention", &d.attn, "self and cross\0self\0cross\0");
    }
    const auto text = edit_text(s);
    ImGui::BeginDisabled(text.empty());
    if (ImGui::Button("Add edit")) s.edits.push_back(text);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("%s", text.c_str());
}

void edit_list(Ui& ui) {
    auto& s = ui.state;
    for (size_t i = 0; i < s.edits.size(); ++i) {
        ImGui::PushID(static_cast<int>(i));
        if (ImGui::SmallButton("x")) {
            s.edits.erase(s.edits.begin() + static_cast<std::ptrdiff_t>(i));
            ImGui::PopID();
            break;
        }
        ImGui::SameLine();
        ImGui::TextUnformatted(s.edits[i].c_str());
        ImGui::PopID();
    }
    if (s.edits.empty()) ImGui::TextDisabled("no edits: a branch re-runs the same steps unchanged");
    const int shown = shown_step(s);
    ImGui::BeginDisabled(!s.snap.session_ready || s.snap.busy);
    char label[64];
    std::snprintf(label, sizeof label, "Branch from step %d", std::max(0, shown) + 1);
    if (ImGui::Button(label)) {
        ui.worker.branch(std::max(0, shown), s.edits);
        s.view.branch = -1;
    }
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("run the session to its end if it is not there, then re-run it from the shown step "
                          "with these edits, kept as a branch");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!s.snap.busy);
    if (ImGui::Button("Cancel")) ui.worker.cancel();
    ImGui::EndDisabled();
}

std::string psnr_text(double psnr_db) {
    if (std::isinf(psnr_db)) return "identical";
    char text[32];
    std::snprintf(text, sizeof text, "%.1f dB", psnr_db);
    return text;
}

// The kept branches; a click shows one, x drops it.
void branch_list(Ui& ui, int shown_id) {
    auto& s = ui.state;
    for (const auto& b : s.snap.branches) {
        ImGui::PushID(b.id);
        ImGui::BeginDisabled(s.snap.busy);
        if (ImGui::SmallButton("x")) ui.worker.drop_branch(b.id);
        ImGui::EndDisabled();
        ImGui::SameLine();
        std::string edits;
        for (const auto& e : b.edits) edits += (edits.empty() ? "" : "; ") + e;
        char label[256];
        std::snprintf(label, sizeof label, "#%d from step %d: %s  (PSNR %s)", b.id, b.from_step + 1,
                      edits.empty() ? "unchanged" : edits.c_str(), psnr_text(b.psnr_db).c_str());
        if (ImGui::Selectable(label, b.id == shown_id)) s.view.branch = b.id;
        record_region(s, "branch_row" + std::to_string(b.id));
        if (ImGui::IsItemHovered() && !b.applied.empty()) {
            std::string applied;
            for (const auto& a : b.applied) applied += a + "\n";
            ImGui::SetTooltip("%s", applied.c_str());
        }
        ImGui::PopID();
    }
}

// The original beside the shown branch: images, then the selected map.
void side_by_side(Ui& ui) {
    auto& s = ui.state;
    const auto& images = s.images.branch;
    const float width = ImGui::GetContentRegionAvail().x;
    const float aspect = images.a.width > 0 ? static_cast<float>(images.a.width) / images.a.height : 1.0f;
    const bool have = images.a.width > 0;
    image_row(s,
              {have ? ui.textures.find_image(kBranchImages) : nullptr,
               have ? ui.textures.find_image(kBranchImages + 1) : nullptr,
               have ? ui.textures.find_image(kBranchImages + 2) : nullptr},
              {"original", "branch #" + std::to_string(s.images.branch_id), "difference, max = white"},
              aspect, std::min(width, 3 * 200 * aspect + 16), "branch_image");
    if (std::isinf(images.psnr_db))
        ImGui::TextUnformatted("identical images (PSNR inf)");
    else if (images.ssim)
        ImGui::Text("PSNR %s, SSIM %.4f, max |difference| %.3g", psnr_text(images.psnr_db).c_str(),
                    *images.ssim, images.max_abs);
    else
        ImGui::Text("PSNR %s, max |difference| %.3g", psnr_text(images.psnr_db).c_str(), images.max_abs);
    const auto& pair = s.maps.branch;
    if (!pair.error.empty() || pair.a.empty()) {
        error_text(!pair.error.empty()    ? pair.error
                   : s.maps.error.empty() ? "no map for this selection"
                                          : s.maps.error);
        return;
    }
    ImGui::Text("%s", map_caption(s.maps.request).c_str());
    const float map_aspect = static_cast<float>(pair.a.width) / pair.a.height;
    const float room = ImGui::GetContentRegionAvail().y - ImGui::GetTextLineHeightWithSpacing() * 2;
    image_row(
        s,
        {ui.textures.find(kBranchPair), ui.textures.find(kBranchPair + 1), ui.textures.find(kBranchPair + 2)},
        {"original", "branch", "|original - branch|"}, map_aspect,
        std::min(width, 3 * std::max(16.0f, room) * map_aspect + 16), "branch_map");
}

} // namespace

void panel_branches(Ui& ui) {
    auto& s = ui.state;
    const float width = ImGui::GetContentRegionAvail().x;
    ImGui::BeginChild("edits", ImVec2(std::min(width * 0.45f, 430.0f), 0));
    ImGui::TextUnformatted("New edit");
    builder(ui);
    ImGui::Separator();
    ImGui::TextUnformatted("Edits of the next branch");
    edit_list(ui);
    if (!s.snap.error.empty()) error_text(s.snap.error);
    ImGui::Separator();
    ImGui::TextUnformatted("Kept branches");
    branch_list(ui, s.images.branch_id);
    if (s.snap.branches.empty()) ImGui::TextDisabled("none yet");
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("views");
    if (s.snap.branches.empty())
        ImGui::TextDisabled("Branch from a step to see the original and the branch side by side.");
    else
        side_by_side(ui);
    ImGui::EndChild();
}

} // namespace attnscope::gui
