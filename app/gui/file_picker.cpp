#include "file_picker.h"

#include "widgets.h"

#include <imgui.h>

namespace attnscope::gui {

namespace {
constexpr const char* kPopup = "Choose a model";
} // namespace

void FilePicker::open(const std::string& path) {
    browse(folder_to_browse(path));
    opening_ = true;
}

void FilePicker::browse(const std::filesystem::path& folder) {
    listing_ = list_folder(folder);
    selected_.clear();
}

std::optional<std::string> FilePicker::draw() {
    if (opening_) {
        ImGui::OpenPopup(kPopup);
        opening_ = false;
    }
    const ImVec2 display = ImGui::GetIO().DisplaySize;
    ImGui::SetNextWindowSize(ImVec2(display.x * 0.5f, display.y * 0.6f), ImGuiCond_Appearing);
    if (!ImGui::BeginPopupModal(kPopup)) return std::nullopt;
    std::optional<std::string> chosen;
    std::optional<std::filesystem::path> next; // browsed after the list is drawn, not while iterating it
    if (ImGui::Button("Up")) next = listing_.folder.parent_path();
    ImGui::SameLine();
    ImGui::TextUnformatted(listing_.folder.string().c_str());
    if (!listing_.error.empty()) error_text(listing_.error);

    const float buttons = ImGui::GetFrameHeightWithSpacing() * 2;
    if (ImGui::BeginChild("entries", ImVec2(0, -buttons), true)) {
        for (const auto& e : listing_.entries) {
            const std::string label = (e.folder ? "[folder] " : "") + e.name;
            if (ImGui::Selectable(label.c_str(), e.name == selected_,
                                  ImGuiSelectableFlags_AllowDoubleClick)) {
                selected_ = e.name;
                // Double-click: into a folder, or pick a file.
                if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
                    if (e.folder)
                        next = listing_.folder / e.name;
                    else
                        chosen = (listing_.folder / e.name).string();
                }
            }
        }
        if (listing_.entries.empty() && listing_.error.empty())
            ImGui::TextDisabled("no folders or model files (.safetensors, .ckpt, .pt, .pth, .bin) here");
    }
    ImGui::EndChild();

    ImGui::TextDisabled("a diffusers model is a folder: select it (or open it) and choose");
    ImGui::BeginDisabled(selected_.empty());
    if (ImGui::Button("Choose selected")) chosen = (listing_.folder / selected_).string();
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("Choose this folder")) chosen = listing_.folder.string();
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    if (chosen) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
    if (next) browse(*next);
    return chosen;
}

} // namespace attnscope::gui
