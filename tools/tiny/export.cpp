#include "export.h"

#include "io/mapped_file.h"
#include "io/safetensors_file.h"
#include "model/unet_loader.h"
#include "sampler.h"
#include "scenes.h"
#include "sched/scheduler.h"
#include "text/clip_tokenizer.h"
#include "tiny_model.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attnscope::tiny {
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
    AtomicFileWriter out(path.string());
    out.write(text.data(), text.size());
    out.commit();
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TensorMap half(const TensorMap& tensors) {
    TensorMap out;
    for (const auto& [k, v] : tensors) out[k] = v.detach().to(at::kCPU, at::kHalf);
    return out;
}

} // namespace

void export_model(const std::string& dir, const UNet& unet, const ClipTextModel& text,
                  const std::string& tokenizer_dir, const nlohmann::json& training) {
    const fs::path root = dir;
    for (const char* sub : {"unet", "text_encoder", "tokenizer", "scheduler"})
        fs::create_directories(root / sub);

    write_safetensors((root / "unet" / "diffusion_pytorch_model.safetensors").string(),
                      half(unet_state_dict(unet, KeyLayout::Diffusers)), {{"format", "pt"}});
    write_text(root / "unet" / "config.json", unet_config_to_json(unet.config()).dump(2) + "\n");

    const fs::path tok_from = fs::absolute(tokenizer_dir), tok_to = fs::absolute(root / "tokenizer");
    if (tok_from.lexically_normal() != tok_to.lexically_normal())
        for (const char* f : {"vocab.json", "merges.txt", "special_tokens_map.json"})
            write_text(tok_to / f, read_text(tok_from / f));
    const ClipTokenizer tokenizer(tok_to);

    write_safetensors((root / "text_encoder" / "model.safetensors").string(),
                      half(text.state_dict(ClipTextLayout::Diffusers)), {{"format", "pt"}});
    auto text_config = nlohmann::json::parse(text.config().to_json());
    text_config["bos_token_id"] = tokenizer.start_id();
    text_config["eos_token_id"] = tokenizer.end_id();
    text_config["pad_token_id"] = tokenizer.pad_id();
    text_config["torch_dtype"] = "float16";
    write_text(root / "text_encoder" / "config.json", text_config.dump(2) + "\n");

    const nlohmann::json scheduler = {{"_class_name", "DDIMScheduler"},
                                      {"num_train_timesteps", kTrainTimesteps},
                                      {"beta_start", kBetaStart},
                                      {"beta_end", kBetaEnd},
                                      {"beta_schedule", "scaled_linear"},
                                      {"prediction_type", "epsilon"},
                                      {"set_alpha_to_one", false},
                                      {"steps_offset", 1},
                                      {"clip_sample", false}};
    write_text(root / "scheduler" / "scheduler_config.json", scheduler.dump(2) + "\n");

    const nlohmann::json index = {
        {"_class_name", "AttnscopeTinyPixelPipeline"},
        {"unet", {"diffusers", "UNet2DConditionModel"}},
        {"text_encoder", {"transformers", "CLIPTextModel"}},
        {"tokenizer", {"transformers", "CLIPTokenizer"}},
        {"scheduler", {"diffusers", "DDIMScheduler"}},
        {"attnscope",
         {{"description", "attnscope's embedded default model: an SD v1-topology U-Net in pixel space "
                          "(no VAE) with its own CLIP text encoder, trained on synthetic captioned shapes"},
          {"pixel_space", true},
          {"image_size", kImageSize},
          {"pixel_range", {-1, 1}},
          {"channels", "RGB"},
          {"prompt_grammar", prompt_grammar()},
          {"example_prompt", "a red circle left of a big blue square on a gray background"},
          {"guidance_scale", SampleOptions{}.guidance}, // what the held-out images are scored at
          {"recipe", training.value("recipe_id", std::string(kRecipeId))},
          {"recipe_doc", "docs/tiny-model.md"},
          {"training", training}}}};
    write_text(root / "model_index.json", index.dump(2) + "\n");
}

} // namespace attnscope::tiny
