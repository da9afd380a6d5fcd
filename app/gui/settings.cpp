#include "settings.h"

#include <cstdlib>
#include <imgui_internal.h>
#include <string>

namespace attnscope::gui {

namespace {

// Prompts may span lines; an ini entry is one line per key.
std::string escape(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string unescape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            out += text[i + 1] == 'n' ? '\n' : text[i + 1];
            ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

float to_float(const std::string& v, float fallback) {
    char* end = nullptr;
    const float f = std::strtof(v.c_str(), &end);
    return end != v.c_str() ? f : fallback;
}

void* open_entry(ImGuiContext*, ImGuiSettingsHandler* handler, const char* name) {
    return std::string(name) == "state" ? handler->UserData : nullptr;
}

void read_line(ImGuiContext*, ImGuiSettingsHandler*, void* entry, const char* line) {
    auto& s = *static_cast<UiState*>(entry);
    const std::string text(line);
    const auto eq = text.find('=');
    if (eq == std::string::npos) return;
    const std::string key = text.substr(0, eq), value = unescape(text.substr(eq + 1));
    auto& r = s.settings;
    auto& l = s.layout;
    if (key == "model")
        s.model_path = value;
    else if (key == "prompt")
        r.prompt = value;
    else if (key == "negative")
        r.negative_prompt = value;
    else if (key == "seed")
        r.seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "steps")
        r.steps = std::max(1, std::atoi(value.c_str()));
    else if (key == "cfg")
        r.guidance_scale = value == "model" ? std::nullopt : std::optional<double>(to_float(value, 7.5f));
    else if (key == "scheduler")
        r.scheduler = value;
    else if (key == "width")
        r.width = std::max(0, std::atoi(value.c_str()));
    else if (key == "height")
        r.height = std::max(0, std::atoi(value.c_str()));
    else if (key == "backend")
        r.backend = value;
    else if (key == "colormap") {
        if (const auto c = parse_colormap(value)) s.display.colormap = *c;
    } else if (key == "normalization")
        s.display.normalization = static_cast<Normalization>(std::clamp(std::atoi(value.c_str()), 0, 2));
    else if (key == "fixed_lo")
        s.display.fixed_lo = to_float(value, 0);
    else if (key == "fixed_hi")
        s.display.fixed_hi = to_float(value, 0.1f);
    else if (key == "opacity")
        s.opacity = std::clamp(to_float(value, 0.6f), 0.0f, 1.0f);
    else if (key == "join_words")
        s.join_words = value == "1";
    else if (key == "quantity") {
        for (const auto q : {Quantity::Probability, Quantity::Score, Quantity::Entropy})
            if (value == quantity_name(q)) s.view.quantity = q;
    } else if (key == "guidance") {
        for (const auto h : {GuidanceHalf::Cond, GuidanceHalf::Uncond, GuidanceHalf::Diff})
            if (value == half_name(h)) s.view.half = h;
    } else if (key == "layout") {
        float v[5];
        if (std::sscanf(value.c_str(), "%f,%f,%f,%f,%f", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5)
            l = {std::clamp(v[0], 0.12f, 0.45f), std::clamp(v[1], 0.12f, 0.45f),
                 std::clamp(v[2], 0.2f, 0.85f), std::clamp(v[3], 0.2f, 0.85f), std::clamp(v[4], 0.08f, 0.5f)};
    }
}

void write_all(ImGuiContext*, ImGuiSettingsHandler* handler, ImGuiTextBuffer* out) {
    const auto& s = *static_cast<const UiState*>(handler->UserData);
    const auto& r = s.settings;
    const auto& l = s.layout;
    out->appendf("[%s][state]\n", handler->TypeName);
    out->appendf("model=%s\n", escape(s.model_path).c_str());
    out->appendf("prompt=%s\n", escape(r.prompt).c_str());
    out->appendf("negative=%s\n", escape(r.negative_prompt).c_str());
    out->appendf("seed=%llu\nsteps=%d\ncfg=%s\n", static_cast<unsigned long long>(r.seed), r.steps,
                 r.guidance_scale ? std::to_string(*r.guidance_scale).c_str() : "model");
    out->appendf("scheduler=%s\nwidth=%d\nheight=%d\nbackend=%s\n", r.scheduler.c_str(), r.width, r.height,
                 r.backend.c_str());
    out->appendf("colormap=%s\nnormalization=%d\nfixed_lo=%g\nfixed_hi=%g\nopacity=%g\njoin_words=%d\n",
                 colormap_name(s.display.colormap), static_cast<int>(s.display.normalization),
                 s.display.fixed_lo, s.display.fixed_hi, s.opacity, s.join_words ? 1 : 0);
    out->appendf("quantity=%s\nguidance=%s\n", quantity_name(s.view.quantity), half_name(s.view.half));
    out->appendf("layout=%g,%g,%g,%g,%g\n\n", l.left, l.right, l.model_split, l.grid_split, l.tokens);
}

} // namespace

void register_settings(UiState& state) {
    ImGuiSettingsHandler handler;
    handler.TypeName = "attnscope";
    handler.TypeHash = ImHashStr("attnscope");
    handler.ReadOpenFn = open_entry;
    handler.ReadLineFn = read_line;
    handler.WriteAllFn = write_all;
    handler.UserData = &state;
    ImGui::GetCurrentContext()->SettingsHandlers.push_back(handler);
}

} // namespace attnscope::gui
