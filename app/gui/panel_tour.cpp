// The U-Net tour (issue 23): the loaded model's U-Net as a diagram, the down path descending on the left,
// the mid block at the bottom, the up path rising on the right, skips across; resnets, transformer blocks
// (each with its self- and cross-attention site) and resamplers in forward order. Play lights the blocks in
// the order a step's forward pass runs them, with the lit sites' Q/K/V/P shapes (the seed's table, from the
// session's own sites); a click on a transformer's upper half selects its self-attention, the lower half its
// cross-attention, in every other view.
#include "panels.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace attnscope::gui {

namespace {

using Kind = UNetBlockRow::Kind;
constexpr double kSecondsPerBlock = 0.35, kSecondsPerTransformer = 1.2;

float units(const UNetBlockRow& b) {
    return b.kind == Kind::Transformer ? 2.0f : 1.0f;
}

double seconds(const UNetBlockRow& b) {
    return b.kind == Kind::Transformer ? kSecondsPerTransformer : kSecondsPerBlock;
}

// The block a forward pass started `elapsed` seconds ago is in; -1 once it is through.
int lit_block(const std::vector<UNetBlockRow>& blocks, double elapsed) {
    for (size_t i = 0; i < blocks.size(); ++i) {
        elapsed -= seconds(blocks[i]);
        if (elapsed < 0) return static_cast<int>(i);
    }
    return -1;
}

std::string shape(int64_t a, int64_t b, int64_t c) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

std::string block_name(const UNetBlockRow& b) {
    const char* path = b.path == UNetBlockRow::Path::Down  ? "down"
                       : b.path == UNetBlockRow::Path::Mid ? "mid"
                                                           : "up";
    switch (b.kind) {
    case Kind::Resnet:
        return std::string(path) + " resnet, " + std::to_string(b.channels) + " channels";
    case Kind::Transformer:
        if (b.depth > 1)
            return std::string(path) + " transformer, indices " + std::to_string(b.index) + "-" +
                   std::to_string(b.index + b.depth - 1) + ": " + std::to_string(b.depth) +
                   " blocks of self- then cross-attention";
        return std::string(path) + " transformer, index " + std::to_string(b.index) +
               ": self- then cross-attention";
    case Kind::Downsample:
        return "downsample: stride-2 convolution, half the resolution";
    default:
        return "upsample: nearest x2 and a convolution, double the resolution";
    }
}

// The shapes of a transformer's two sites, as the seed's table has them.
void site_rows(const UiState& s, int index) {
    for (const auto& site : s.snap.sites) {
        if (site.index != index) continue;
        const int64_t bh = site.batch * site.heads;
        ImGui::Text("  %-5s %dx%d  Q %s  K %s  V %s  P %s", site.self ? "self" : "cross", site.width,
                    site.height, shape(bh, site.seq_q, site.head_dim).c_str(),
                    shape(bh, site.seq_k, site.head_dim).c_str(),
                    shape(bh, site.seq_k, site.head_dim).c_str(), shape(bh, site.seq_q, site.seq_k).c_str());
    }
}

} // namespace

void panel_tour(Ui& ui) {
    auto& s = ui.state;
    const auto& blocks = s.snap.unet_blocks;
    if (blocks.empty()) {
        ImGui::TextDisabled("load a model to see its U-Net");
        return;
    }
    if (ImGui::Button(s.tour_playing ? "Stop" : "Play a forward pass")) {
        s.tour_playing = !s.tour_playing;
        s.tour_started = ImGui::GetTime();
    }
    const int lit = s.tour_playing ? lit_block(blocks, ImGui::GetTime() - s.tour_started) : -1;
    if (s.tour_playing && lit < 0) s.tour_playing = false;
    ImGui::SameLine();
    ImGui::TextDisabled(
        "%zu blocks, %zu attention sites; click a transformer: upper half self, lower half cross",
        blocks.size(), s.snap.sites.size());

    int levels = 0;
    float total = 0;
    for (const auto& b : blocks) {
        levels = std::max(levels, b.level + 1);
        total += units(b);
    }
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float height = std::max(80.0f, avail.y - 7 * line), unit = avail.x / total;
    const float row = height / levels, box = std::min(row * 0.45f, 44.0f);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    auto* draw = ImGui::GetWindowDrawList();
    // Skips: every level's down path hands its activations to the same level of the up path.
    for (int l = 0; l < levels; ++l) {
        float from = -1, to = -1, x = 0;
        for (const auto& b : blocks) {
            if (b.level == l && b.path == UNetBlockRow::Path::Down)
                from = std::max(from, x + units(b) * unit / 2);
            if (b.level == l && b.path == UNetBlockRow::Path::Up && to < 0) to = x + units(b) * unit / 2;
            x += units(b) * unit;
        }
        if (from < 0 || to < 0) continue;
        const float y = at.y + l * row + row / 2 - box / 2 - 4;
        draw->AddLine(ImVec2(at.x + from, y), ImVec2(at.x + to, y), IM_COL32(110, 110, 130, 255), 1.5f);
    }
    float x = 0;
    const UNetBlockRow* hovered = nullptr;
    ImVec2 previous(-1, -1);
    for (size_t i = 0; i < blocks.size(); ++i) {
        const auto& b = blocks[i];
        const float w = units(b) * unit;
        const ImVec2 c(at.x + x + w / 2, at.y + b.level * row + row / 2);
        x += w;
        if (previous.x >= 0) draw->AddLine(previous, c, IM_COL32(90, 90, 100, 255));
        previous = c;
        const float bw = (b.kind == Kind::Transformer ? 2 : 1) * std::min(box, unit * 0.9f) /
                         (b.kind == Kind::Transformer ? 1 : 1.3f);
        const ImVec2 a(c.x - bw / 2, c.y - box / 2), z(c.x + bw / 2, c.y + box / 2);
        const bool selected = b.kind == Kind::Transformer && b.index == s.view.index;
        ImU32 fill = b.kind == Kind::Transformer ? IM_COL32(60, 110, 180, 255)
                     : b.kind == Kind::Resnet    ? IM_COL32(70, 70, 80, 255)
                                                 : IM_COL32(100, 80, 60, 255);
        if (static_cast<int>(i) == lit) fill = IM_COL32(250, 200, 60, 255);
        draw->AddRectFilled(a, z, fill, 3);
        if (selected) {
            const float mid = c.y;
            draw->AddRect(a, z, kSelectedOutline, 3, 0, 2);
            draw->AddRectFilled(s.view.self ? a : ImVec2(a.x, mid), s.view.self ? ImVec2(z.x, mid) : z,
                                IM_COL32(255, 210, 0, 70));
        }
        const std::string label = b.kind == Kind::Transformer  ? std::to_string(b.index)
                                  : b.kind == Kind::Resnet     ? "R"
                                  : b.kind == Kind::Downsample ? "v"
                                                               : "^";
        const ImVec2 size = ImGui::CalcTextSize(label.c_str());
        if (size.x < bw)
            draw->AddText(ImVec2(c.x - size.x / 2, c.y - size.y / 2), IM_COL32(240, 240, 240, 255),
                          label.c_str());
        ImGui::SetCursorScreenPos(a);
        ImGui::InvisibleButton(("block" + std::to_string(i)).c_str(),
                               ImVec2(std::max(1.0f, bw), std::max(1.0f, box)));
        if (ImGui::IsItemHovered()) hovered = &b;
        if (b.kind == Kind::Transformer && ImGui::IsItemClicked()) {
            s.view.index = b.index;
            s.view.self = ImGui::GetIO().MousePos.y < c.y;
        }
    }
    ImGui::SetCursorScreenPos(ImVec2(at.x, at.y + height));
    record_region(s, "tour", at, ImVec2(at.x + avail.x, at.y + height));
    if (hovered) ImGui::SetTooltip("%s\n%s", block_name(*hovered).c_str(), hovered->name.c_str());

    const auto* shown = lit >= 0 ? &blocks[lit] : nullptr;
    if (!shown)
        for (const auto& b : blocks)
            if (b.kind == Kind::Transformer && b.index == s.view.index) shown = &b;
    ImGui::Separator();
    if (!shown) return;
    ImGui::Text("%s: %s", lit >= 0 ? "now" : "selected", block_name(*shown).c_str());
    ImGui::TextDisabled("%s", shown->name.c_str());
    if (shown->kind == Kind::Transformer) site_rows(s, shown->index);
}

} // namespace attnscope::gui
