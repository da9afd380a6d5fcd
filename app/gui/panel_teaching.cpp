#include "panels.h"
#include "util/byte_size.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace attnscope::gui {

namespace {

std::string shape3(int64_t a, int64_t b, int64_t c) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

// "down_blocks.1.attentions.0.transformer_blocks.0.attn2" -> "down block 2, attention 1"; SDXL's deeper
// transformers add the block: "down block 3, attention 1, block 4".
std::string where(const std::string& module) {
    const auto number_after = [&](const std::string& key) {
        const auto p = module.find(key);
        return p == std::string::npos ? -1 : std::atoi(module.c_str() + p + key.size());
    };
    const int depth = number_after("transformer_blocks.");
    const std::string block = depth > 0 ? ", block " + std::to_string(depth + 1) : "";
    if (module.rfind("mid_block", 0) == 0) return "the mid block (lowest resolution)" + block;
    const bool down = module.rfind("down_blocks", 0) == 0;
    const int number = number_after(down ? "down_blocks." : "up_blocks.");
    const int attention = number_after("attentions.");
    if (number < 0 || attention < 0) return module;
    return std::string(down ? "down" : "up") + " block " + std::to_string(number + 1) + ", attention " +
           std::to_string(attention + 1) + block +
           (down ? " (encoder path)" : " (decoder path, after the skip)");
}

void site_table(UiState& s, bool self) {
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                  ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX |
                                  ImGuiTableFlags_ScrollY;
    if (!ImGui::BeginTable(self ? "self" : "cross", 6, flags, ImVec2(0, ImGui::GetContentRegionAvail().y)))
        return;
    ImGui::TableSetupScrollFreeze(1, 1);
    for (const char* h : {"Index", "Scale", "Query", "Key", "Value", "P"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (const auto& site : s.snap.sites) {
        if (site.self != self) continue;
        const int64_t bh = site.batch * site.heads;
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        const bool selected = site.index == s.view.index && s.view.self == self;
        char label[16];
        std::snprintf(label, sizeof label, "%d", site.index);
        if (ImGui::Selectable(label, selected, ImGuiSelectableFlags_SpanAllColumns)) {
            s.view.index = site.index;
            s.view.self = self;
        }
        ImGui::TableNextColumn();
        ImGui::Text("%dx%d", site.width, site.height);
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(shape3(bh, site.seq_q, site.head_dim).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(shape3(bh, site.seq_k, site.head_dim).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(shape3(bh, site.seq_k, site.head_dim).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(shape3(bh, site.seq_q, site.seq_k).c_str());
    }
    ImGui::EndTable();
}

void backend_choice(Ui& ui, const SiteRow& site) {
    auto& s = ui.state;
    const auto key = std::make_pair(site.index, site.self);
    const auto set = s.snap.site_backend.find(key);
    const std::string current = set == s.snap.site_backend.end() ? "auto" : set->second;
    const auto used = s.snap.last_used.find(key);
    ImGui::SetNextItemWidth(110);
    if (ImGui::BeginCombo("backend for this site", current.c_str())) {
        for (const auto& name : s.snap.backends)
            if (ImGui::Selectable(name.c_str(), name == current))
                ui.worker.set_site_backend(site.index, site.self, name);
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    const auto why = s.snap.last_why.find(key);
    ImGui::TextDisabled("last step used: %s%s%s", used == s.snap.last_used.end() ? "-" : used->second.c_str(),
                        why == s.snap.last_why.end() ? "" : ": ",
                        why == s.snap.last_why.end() ? "" : why->second.c_str());
}

} // namespace

void panel_teaching(Ui& ui) {
    auto& s = ui.state;
    const auto* site = selected_site(s);
    if (!site) {
        ImGui::TextDisabled("load a model to see its attention sites");
        return;
    }
    const int64_t bh = site->batch * site->heads;
    ImGui::TextWrapped("Index %d, %s-attention: %s", site->index, site->self ? "self" : "cross",
                       where(site->module).c_str());
    ImGui::TextDisabled("%s", site->module.c_str());
    ImGui::TextWrapped("latent %dx%d here: %lld queries; %s", site->width, site->height,
                       static_cast<long long>(site->seq_q),
                       site->self ? "keys are the same pixels" : "keys are the 77 text tokens");
    ImGui::Separator();
    ImGui::TextUnformatted("P = softmax(Q K^T / sqrt(d_k)),  O = P V");
    ImGui::Text("Q %s x K^T %s -> P %s", shape3(bh, site->seq_q, site->head_dim).c_str(),
                shape3(bh, site->head_dim, site->seq_k).c_str(),
                shape3(bh, site->seq_q, site->seq_k).c_str());
    ImGui::Text("d_k = %d, scale = 1/sqrt(%d) = %.4f;  %lld = batch %lld x %d heads", site->head_dim,
                site->head_dim, site->scale, static_cast<long long>(bh), static_cast<long long>(site->batch),
                site->heads);
    const double elements = static_cast<double>(bh) * site->seq_q * site->seq_k;
    ImGui::Text("P would take %s in %s (%.3g elements); Q+K %s",
                byte_size_string(elements * s.snap.element_bytes).c_str(), s.snap.dtype.c_str(), elements,
                byte_size_string(static_cast<double>(bh) * (site->seq_q + site->seq_k) * site->head_dim *
                                 s.snap.element_bytes)
                    .c_str());
    backend_choice(ui, *site);
    ImGui::Separator();
    if (ImGui::BeginTabBar("shapes")) {
        if (ImGui::BeginTabItem("Self-attention")) {
            site_table(s, true);
            ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem("Cross-attention")) {
            site_table(s, false);
            ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
    }
}

} // namespace attnscope::gui
