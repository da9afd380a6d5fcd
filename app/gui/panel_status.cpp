#include "gpu_info.h"
#include "map_writer.h"
#include "panels.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace attnscope::gui {

namespace {

// "GPU 3.1 / 79.6 GiB used" for the session's CUDA device, asked of the driver once a second (it counts
// every process's memory, not only LibTorch's).
std::string gpu_memory(const std::string& device) {
    static std::string line;
    static double asked_at = -1;
    const double now = ImGui::GetTime();
    if (asked_at >= 0 && now - asked_at < 1.0) return line;
    asked_at = now;
    line.clear();
    if (device.rfind("cuda", 0) != 0) return line;
    const auto colon = device.find(':');
    const int index = colon == std::string::npos ? 0 : std::atoi(device.c_str() + colon + 1);
    for (const auto& d : query_gpus().devices)
        if (d.index == index && d.total_bytes > 0) {
            char text[64];
            std::snprintf(text, sizeof text, "GPU %.1f / %.1f GiB used",
                          static_cast<double>(d.total_bytes - d.free_bytes) / (1u << 30),
                          static_cast<double>(d.total_bytes) / (1u << 30));
            line = text;
        }
    return line;
}

} // namespace

void panel_status(Ui& ui) {
    const auto& s = ui.state.snap;
    if (!s.model_loaded) {
        ImGui::TextDisabled("no model");
    } else {
        ImGui::Text("%s %s", s.device.c_str(), s.dtype.c_str());
        if (s.tf32) {
            ImGui::SameLine();
            ImGui::TextColored(ImVec4(1.0f, 0.8f, 0.3f, 1.0f), "TF32");
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip("fp32 on CUDA runs in TF32 (the model panel's checkbox)");
        }
    }
    // Which backend ran how many sites in the last step.
    std::map<std::string, int> counts;
    for (const auto& [site, name] : s.last_used) ++counts[name];
    std::string backends;
    for (const auto& [name, n] : counts)
        backends += (backends.empty() ? "" : ", ") + name + " x" + std::to_string(n);
    ImGui::SameLine(0, 24);
    ImGui::Text("attention: %s", backends.empty() ? "-" : backends.c_str());
    if (!s.last_used.empty() && ImGui::IsItemHovered()) {
        std::string sites;
        for (const auto& [site, name] : s.last_used) {
            const auto why = s.last_why.find(site);
            sites += std::to_string(site.first) + (site.second ? " self: " : " cross: ") + name +
                     (why == s.last_why.end() ? "" : " (" + why->second + ")") + "\n";
        }
        ImGui::SetTooltip("%s", sites.c_str());
    }
    ImGui::SameLine(0, 24);
    if (!s.history.empty()) {
        const auto& last = s.history.back();
        ImGui::Text("last step %.1f ms (U-Net %.1f ms%s)", last.step_ms, last.unet_ms,
                    last.cuda_graph ? ", CUDA graph" : "");
        if (!s.unet_run.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("U-Net: %s", s.unet_run.c_str());
    } else
        ImGui::TextDisabled("no step yet");
    ImGui::SameLine(0, 24);
    ImGui::Text("capture %.2f MiB / %.0f MiB, %zu evictions", s.capture_bytes / 1048576.0,
                s.capture_budget / 1048576.0, s.evictions);
    if (!s.last_eviction.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.last_eviction.c_str());
    if (const auto gpu = gpu_memory(s.device); !gpu.empty()) {
        ImGui::SameLine(0, 24);
        ImGui::TextUnformatted(gpu.c_str());
    }
    ImGui::SameLine(0, 24);
    if (const auto* writer = ui.textures.writer()) {
        ImGui::Text("maps: %s", writer->describe().c_str());
        if (!ui.textures.writer_reason().empty() && ImGui::IsItemHovered())
            ImGui::SetTooltip("not CUDA-GL interop: %s", ui.textures.writer_reason().c_str());
    } else {
        ImGui::TextDisabled("maps: -");
    }
    ImGui::SameLine(0, 24);
    ImGui::TextDisabled("%.0f fps", ImGui::GetIO().Framerate);
    if (!s.error.empty()) {
        ImGui::SameLine(0, 24);
        ImGui::PushStyleColor(ImGuiCol_Text, kErrorColor);
        ImGui::TextUnformatted(s.error.c_str());
        ImGui::PopStyleColor();
    }
}

} // namespace attnscope::gui
