#include "panels.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace attnscope::gui {

namespace {

// One cell per step: dark until run, lighter once run, green where its attention is captured; the
// shown step is outlined. Clicking or dragging selects a step; with "average steps" on, dragging selects the
// range of steps whose maps are averaged, outlined as one.
void timeline(Ui& ui) {
    auto& s = ui.state;
    const int n = std::max(1, s.snap.total_steps);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float width = ImGui::GetContentRegionAvail().x;
    const float height = 22;
    ImGui::InvisibleButton("timeline", ImVec2(width, height));
    record_region(s, "timeline");
    auto* draw = ImGui::GetWindowDrawList();
    const float cell = width / n;
    const int shown = shown_step(s);
    const int first = s.view.steps_from >= 0 && shown >= 0 ? std::min(s.view.steps_from, shown) : shown;
    for (int k = 0; k < n; ++k) {
        const bool run = k < s.snap.current_step;
        const bool captured =
            std::binary_search(s.snap.captured_steps.begin(), s.snap.captured_steps.end(), k);
        const ImU32 color = captured ? IM_COL32(70, 160, 90, 255)
                            : run    ? IM_COL32(95, 100, 110, 255)
                                     : IM_COL32(45, 48, 54, 255);
        const ImVec2 a(at.x + k * cell + 1, at.y);
        const ImVec2 b(at.x + (k + 1) * cell - 1, at.y + height);
        draw->AddRectFilled(a, b, color);
        // The averaged steps carry a band along their bottom.
        if (first < shown && k >= first && k <= shown)
            draw->AddRectFilled(ImVec2(a.x, b.y - 4), ImVec2(b.x + 2, b.y), kSelectedOutline);
    }
    if (shown >= 0)
        draw->AddRect(ImVec2(at.x + first * cell + 1, at.y),
                      ImVec2(at.x + (shown + 1) * cell - 1, at.y + height), kSelectedOutline, 0, 0, 2);
    if (ImGui::IsItemActive() && s.snap.current_step > 0) {
        const int k = std::clamp(static_cast<int>((ImGui::GetIO().MousePos.x - at.x) / cell), 0,
                                 s.snap.current_step - 1);
        // Where the drag started: one end of an averaged range.
        auto* storage = ImGui::GetStateStorage();
        const ImGuiID anchor = ImGui::GetID("anchor");
        if (ImGui::IsItemActivated()) storage->SetInt(anchor, k);
        const int from = std::min(k, storage->GetInt(anchor, k)),
                  to = std::max(k, storage->GetInt(anchor, k));
        if (s.view.steps_from >= 0) s.view.steps_from = from;
        // Picking the latest step goes back to following the run.
        const int last = s.view.steps_from >= 0 ? to : k;
        s.view.step = last == s.snap.current_step - 1 ? -1 : last;
    }
    if (ImGui::IsItemHovered()) {
        const int k = std::clamp(static_cast<int>((ImGui::GetIO().MousePos.x - at.x) / cell), 0, n - 1);
        if (k < static_cast<int>(s.snap.history.size()))
            ImGui::SetTooltip("step %d: t=%.0f, U-Net %.1f ms", k + 1, s.snap.history[k].timestep,
                              s.snap.history[k].unet_ms);
        else
            ImGui::SetTooltip("step %d: not run yet", k + 1);
    }
}

} // namespace

void panel_transport(Ui& ui) {
    auto& s = ui.state;
    auto& w = ui.worker;
    const bool ready = s.snap.session_ready;
    const bool busy = s.snap.busy;
    ImGui::BeginDisabled(!ready || s.snap.current_step >= s.snap.total_steps || busy);
    if (ImGui::Button("Step")) {
        s.view.step = -1;
        w.step();
    }
    ImGui::SameLine();
    ImGui::EndDisabled();
    if (s.snap.playing) {
        if (ImGui::Button("Pause")) w.cancel();
    } else {
        ImGui::BeginDisabled(!ready || s.snap.current_step >= s.snap.total_steps || busy);
        if (ImGui::Button("Play")) {
            s.view.step = -1;
            w.play();
        }
        ImGui::SameLine();
        if (ImGui::Button("Run to end")) {
            s.view.step = -1;
            w.run_to_end();
        }
        ImGui::EndDisabled();
    }
    ImGui::SameLine();
    ImGui::BeginDisabled(!ready || s.snap.current_step == 0 || busy);
    if (ImGui::Button("Reset")) {
        s.view.step = -1;
        w.rewind(0);
    }
    ImGui::SameLine();
    const int shown = shown_step(s);
    ImGui::BeginDisabled(shown < 0 || shown + 1 >= s.snap.current_step);
    if (ImGui::Button("Rewind here")) {
        s.view.step = -1;
        w.rewind(shown + 1);
    }
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("drop the steps after the shown one and run on from there");
    ImGui::EndDisabled();
    ImGui::EndDisabled();
    ImGui::SameLine();
    // A command, or a view refresh (its task shown; an entropy refresh can take seconds).
    ImGui::BeginDisabled(!s.snap.busy && s.snap.task.empty());
    if (ImGui::Button("Cancel")) w.cancel();
    ImGui::EndDisabled();
    ImGui::SameLine();
    char progress[160];
    std::snprintf(progress, sizeof progress, "%s", s.snap.task.empty() ? "idle" : s.snap.task.c_str());
    ImGui::ProgressBar(s.snap.busy ? s.snap.progress : 0.0f, ImVec2(-1, 0), progress);

    const auto& run = s.snap.session_settings;
    if (!run.start_image.empty() && s.snap.session_ready) {
        const auto file = std::filesystem::path(run.start_image).filename().string();
        if (run.read_picture)
            ImGui::TextDisabled("reading %s: %d runs, %d noises at each timestep; nothing is denoised",
                                file.c_str(), s.snap.total_steps, run.reading_noises);
        else
            ImGui::TextDisabled("from %s at strength %.2f: steps %d-%d of the %d-step schedule", file.c_str(),
                                run.strength, s.snap.first_scheduled_step + 1, run.steps, run.steps);
    }
    timeline(ui);
    bool averaging = s.view.steps_from >= 0;
    if (ImGui::Checkbox("average steps", &averaging)) s.view.steps_from = averaging ? std::max(0, shown) : -1;
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("drag along the timeline to choose the steps whose maps are averaged");
    ImGui::SameLine();
    if (shown >= 0 && shown < static_cast<int>(s.snap.history.size())) {
        const auto& h = s.snap.history[shown];
        const int first = averaging ? std::min(s.view.steps_from, shown) : shown;
        if (first < shown)
            ImGui::Text("steps %d-%d of %d%s averaged   x0 of step %d", first + 1, shown + 1,
                        s.snap.total_steps, s.view.step < 0 ? " (to the latest)" : "", shown + 1);
        else
            ImGui::Text("step %d/%d%s   t=%.0f   U-Net %.1f ms   step %.1f ms", shown + 1, s.snap.total_steps,
                        s.view.step < 0 ? " (latest)" : "", h.timestep, h.unet_ms, h.step_ms);
    } else {
        ImGui::Text("step 0/%d: press Step or Play", s.snap.total_steps);
    }
}

} // namespace attnscope::gui
