#include "file_picker.h"
#include "panels.h"
#include "widgets.h"

#include <filesystem>
#include <imgui_stdlib.h>

namespace attnscope::gui {

namespace {

constexpr const char* kSchedulers[] = {"ddim", "euler", "euler_a", "dpmpp_2m_karras", "pndm"};

void combo_of(const char* label, std::string& value, const std::vector<std::string>& names) {
    if (ImGui::BeginCombo(label, value.c_str())) {
        for (const auto& n : names)
            if (ImGui::Selectable(n.c_str(), n == value)) value = n;
        ImGui::EndCombo();
    }
}

// `b` is what the session runs, so its sizes and guidance are resolved; `a`'s may be the model's. A reading
// runs as many steps as its timesteps and noises make, whatever the steps field says.
bool differs(const RunSettings& a, const RunSettings& b, double model_guidance) {
    return a.prompt != b.prompt || a.negative_prompt != b.negative_prompt || a.seed != b.seed ||
           (a.steps != b.steps && !b.read_picture) ||
           a.guidance_scale.value_or(model_guidance) != b.guidance_scale || a.scheduler != b.scheduler ||
           (a.width != 0 && a.width != b.width) || (a.height != 0 && a.height != b.height) ||
           a.backend != b.backend || a.start_image != b.start_image ||
           (!a.start_image.empty() &&
            (a.read_picture != b.read_picture || (!a.read_picture && a.strength != b.strength)));
}

// The LoRAs the loaded model runs with, each with its scale (read at every step, so a change shows from the
// next step on), then the list the next Load applies.
void lora_rows(Ui& ui) {
    auto& s = ui.state;
    for (size_t i = 0; i < s.snap.loras.size(); ++i) {
        const auto& l = s.snap.loras[i];
        ImGui::PushID(static_cast<int>(i));
        auto scale = static_cast<float>(l.scale->load());
        ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.55f);
        if (ImGui::SliderFloat("##scale", &scale, -2.0f, 2.0f, "LoRA %.2f")) l.scale->store(scale);
        ImGui::SameLine();
        if (ImGui::SmallButton("sweep") && s.snap.session_ready) {
            ui.worker.sweep_lora(i, 5, 1.0, std::vector<int64_t>(s.view.tokens.begin(), s.view.tokens.end()));
            s.show_tab = CentreTab::Sweep;
        }
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip(
                "the session's settings again at this LoRA's scale 0, 0.25, ... 1: images and the "
                "selected tokens' maps side by side (the LoRA sweep tab)");
        ImGui::SameLine();
        ImGui::TextUnformatted(std::filesystem::path(l.path).filename().string().c_str());
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip(
                "%s: %d layers\nThe scale applies from the next step; rewind to see it from the "
                "start.",
                l.path.c_str(), l.layers);
        ImGui::PopID();
    }
    ImGui::SetNextItemWidth(-100);
    ImGui::InputTextWithHint("##lora", "LoRA .safetensors", &s.lora_path);
    ImGui::SameLine();
    if (ImGui::Button("Add LoRA") && !s.lora_path.empty()) {
        s.loras.push_back({s.lora_path, 1.0});
        s.lora_path.clear();
    }
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("kohya-ss or diffusers/PEFT naming; applied at the next Load");
    if (s.loras.empty()) return;
    ImGui::TextDisabled("next Load applies %zu LoRA%s", s.loras.size(), s.loras.size() == 1 ? "" : "s");
    ImGui::SameLine();
    if (ImGui::SmallButton("clear")) s.loras.clear();
}

// A picture the next session starts from (image-to-image) or reads (attention on an existing picture).
void picture_row(RunSettings& r) {
    static FilePicker picker;
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 60);
    ImGui::InputTextWithHint("##picture", "a picture to start from or read (PNG, JPEG, BMP)", &r.start_image);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "scaled to cover the size and its middle cut out (size 0: its aspect at the model's pixels)");
    ImGui::SameLine();
    if (ImGui::Button("...##picture")) picker.open(r.start_image);
    if (const auto chosen = picker.draw()) r.start_image = *chosen;
    if (r.start_image.empty()) return;
    ImGui::SameLine();
    if (ImGui::SmallButton("x")) r.start_image.clear();
    int use = r.read_picture ? 1 : 0;
    ImGui::RadioButton("start from it", &use, 0);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("image-to-image: the run starts from the picture noised to the strength's step");
    ImGui::SameLine();
    ImGui::RadioButton("read it", &use, 1);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "attention on the picture itself: each step noises it to one timestep and runs the U-Net once;\n"
            "nothing is denoised, and the maps average the runs (DAAM on a real image)");
    r.read_picture = use == 1;
    if (r.read_picture) {
        ImGui::InputText("timesteps", &r.reading_timesteps);
        ImGui::InputInt("noises each", &r.reading_noises);
        r.reading_noises = std::clamp(r.reading_noises, 1, 100);
        return;
    }
    auto strength = static_cast<float>(r.strength);
    if (ImGui::SliderFloat("strength", &strength, 0.05f, 1.0f, "%.2f")) r.strength = strength;
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("the share of the %d steps that runs: %d of them; 1 keeps nothing of the picture",
                          r.steps, static_cast<int>(r.steps * r.strength));
}

} // namespace

void panel_model(Ui& ui) {
    auto& s = ui.state;
    auto& r = s.settings;
    // One picker for the program's one model panel; it keeps the folder it shows between frames.
    static FilePicker picker;
    ImGui::SetNextItemWidth(-100);
    ImGui::InputText("##model", &s.model_path);
    ImGui::SameLine();
    if (ImGui::Button("...")) picker.open(s.model_path);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("browse for a model folder or file");
    ImGui::SameLine();
    if (ImGui::Button("Load")) ui.worker.load(s.model_path, s.loras, r);
    if (const auto chosen = picker.draw()) {
        s.model_path = *chosen;
        ui.worker.load(s.model_path, s.loras, r);
    }
    lora_rows(ui);
    if (s.snap.model_loaded) {
        ImGui::TextDisabled("%s, %s, %s", s.snap.model_source.c_str(), s.snap.device.c_str(),
                            s.snap.dtype.c_str());
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.snap.model_description.c_str());
        if (s.snap.device.rfind("cuda", 0) == 0) {
            bool tf32 = s.snap.tf32;
            if (ImGui::Checkbox("TF32", &tf32)) ui.worker.set_tf32(tf32);
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip(
                    "fp32 convolutions and matmuls in TF32 on the GPU's tensor cores: faster, about "
                    "1e-4 relative error; off, fp32 is IEEE fp32");
        }
    } else {
        ImGui::TextDisabled("no model loaded");
    }
    ImGui::Separator();

    ImGui::TextUnformatted("Prompt");
    // A model that declares its captions (the embedded one knows a few dozen words) offers some.
    if (const auto& guide = s.snap.prompt_guide) {
        ImGui::SameLine();
        if (ImGui::SmallButton("examples")) ImGui::OpenPopup("examples");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("captions of the grammar the model was trained on");
        if (ImGui::BeginPopup("examples")) {
            for (const auto& example : guide->examples())
                if (ImGui::Selectable(example.c_str())) r.prompt = example;
            ImGui::EndPopup();
        }
        ImGui::SameLine();
        if (ImGui::SmallButton("random caption")) r.prompt = guide->random_caption(s.random_captions++);
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip(
                "the next caption of the model's grammar, in an order that is the same every run");
    }
    ImGui::InputTextMultiline("##prompt", &r.prompt, ImVec2(-1, ImGui::GetTextLineHeight() * 3.5f));
    ImGui::TextUnformatted("Negative prompt");
    ImGui::InputTextMultiline("##negative", &r.negative_prompt,
                              ImVec2(-1, ImGui::GetTextLineHeight() * 2.5f));
    ImGui::PushItemWidth(ImGui::GetContentRegionAvail().x * 0.55f);
    ImGui::InputScalar("seed", ImGuiDataType_U64, &r.seed);
    ImGui::InputInt("steps", &r.steps);
    double cfg = r.guidance_scale.value_or(s.snap.model_guidance);
    if (ImGui::InputDouble(r.guidance_scale ? "CFG" : "CFG (model's)", &cfg, 0.5, 1.0, "%.2f"))
        r.guidance_scale = cfg;
    if (r.guidance_scale && s.snap.model_loaded) {
        ImGui::SameLine();
        if (ImGui::SmallButton("model's")) r.guidance_scale.reset();
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("the guidance the model declares (%.2g), 7.5 where it declares none",
                              s.snap.model_guidance);
    }
    std::vector<std::string> schedulers(std::begin(kSchedulers), std::end(kSchedulers));
    combo_of("scheduler", r.scheduler, schedulers);
    int size[2] = {r.width, r.height};
    if (ImGui::InputInt2("size (0: model's)", size)) {
        r.width = std::max(0, size[0]);
        r.height = std::max(0, size[1]);
    }
    picture_row(r);
    const std::vector<std::string> fallback = {"auto", "math", "sdpa"};
    combo_of("backend", r.backend, s.snap.backends.empty() ? fallback : s.snap.backends);
    ImGui::PopItemWidth();
    r.steps = std::max(1, r.steps);

    const bool changed = s.snap.session_ready && differs(r, s.snap.session_settings, s.snap.model_guidance);
    if (ImGui::Button(changed ? "New session (apply changes)" : "New session")) start_session(ui);
    if (changed) {
        ImGui::SameLine();
        ImGui::TextDisabled("(settings changed)");
    }

    if (!s.snap.error.empty()) {
        ImGui::Separator();
        error_text(s.snap.error);
    }
    record_background(s);
}

} // namespace attnscope::gui
