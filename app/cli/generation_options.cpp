#include "generation_options.h"

#include "device_options.h"
#include "io/image_file.h"
#include "io/mapped_file.h"
#include "model/unet_loader.h"
#include "options.h"

#include <cmath>
#include <cstdio>
#include <tuple>

namespace attnscope::cli {

void add_pipeline_options(CommandLine& args) {
    args.option("model", "PATH",
                "a diffusers folder or a single .safetensors (default: the embedded tiny model)");
    args.option("preset", "sd15|sd21|sd21-base|sdxl", "random weights of this layout instead of --model");
    add_device_options(args);
    args.option("tokenizer", "DIR",
                "a CLIP tokenizer folder (vocab.json, merges.txt) instead of the model's");
    args.option("vae", "PATH", "VAE weights instead of the model's");
    args.option("taesd", "PATH", "TAESD weights for the fast previews");
    args.repeatable("lora", "FILE[:SCALE]",
                    "a LoRA (.safetensors; kohya-ss or diffusers/PEFT names) applied at SCALE (default 1), "
                    "unmerged; give it again for more");
    args.option("prediction", "epsilon|v_prediction", "what the U-Net predicts (default: from its config)");
    args.option("config", "FILE", "the U-Net's config.json, for a single-file checkpoint");
    args.option("heads", "N", "the text encoder's attention heads (single files do not record them)");
}

void add_generation_options(CommandLine& args) {
    const GenerationSettings defaults;
    args.option("prompt", "TEXT", "what the image shows");
    args.option("out", "DIR", "the folder to write into (made if missing)");
    args.option("negative", "TEXT", "the negative prompt");
    args.option("steps", "N", "denoising steps", std::to_string(defaults.steps));
    args.option("cfg", "S",
                "classifier-free guidance scale; at 1 or below the unconditional half is skipped (default: "
                "the model's: 4 for the embedded model, 7.5 for SD)");
    args.option("seed", "K", "the initial noise's seed (and --preset's weights')", "0");
    args.option("scheduler", "ddim|euler|euler_a|dpmpp_2m_karras|pndm", "the sampler",
                to_string(defaults.scheduler));
    args.option("size", "WxH",
                "image size in pixels, multiples of 8 (default: the model's native size; from --init-image, "
                "the picture's aspect at the native pixel count, sides multiples of 64)");
    args.option("init-image", "FILE",
                "start from this picture (PNG, JPEG or BMP) instead of noise: scaled to cover the size, the "
                "middle cut out");
    args.option("strength", "S", "with --init-image: how much of the schedule runs, in (0, 1]", "0.8");
    add_pipeline_options(args);
}

void require_generation_args(const CommandLine& args) {
    if (!args.given("prompt") || !args.given("out"))
        throw UsageError(args.command() +
                         " needs --prompt \"...\" and --out DIR (and --model PATH unless the embedded "
                         "model will do)");
    if (args.given("preset") && args.given("model"))
        throw UsageError("give either --model or --preset, not both");
}

GenerationSettings generation_settings(const CommandLine& args) {
    const auto seed_text = args.value("seed");
    if (seed_text.empty() || seed_text.find_first_not_of("0123456789") != std::string::npos ||
        seed_text.size() > 19)
        throw UsageError("bad --seed '" + seed_text + "': expected a whole number from 0");
    GenerationSettings s;
    s.prompt = args.get("prompt").value_or("");
    s.negative_prompt = args.get("negative").value_or("");
    s.steps = args.get_int("steps");
    s.seed = static_cast<uint64_t>(std::stoull(seed_text));
    s.scheduler = parse_scheduler(args.value("scheduler"));
    if (const auto cfg = args.get("cfg")) try {
            s.guidance_scale = std::stod(*cfg);
        } catch (const std::exception&) {
            throw UsageError("bad --cfg '" + *cfg + "': expected a number such as 7.5");
        }
    if (const auto size = args.get("size")) std::tie(s.width, s.height) = parse_size(*size);
    if (const auto picture = args.get("init-image")) {
        const auto strength = args.get_double("strength");
        s.start_image = StartImage{std::make_shared<const Image8>(read_image(*picture)), *picture, strength};
    } else if (args.given("strength")) {
        throw UsageError("--strength goes with --init-image FILE");
    }
    return s;
}

at::ScalarType default_dtype(at::Device device) {
    return device.is_cuda() ? at::kHalf : at::kFloat;
}

void add_dtype_option(CommandLine& args) {
    args.option("dtype", "f32|f16|bf16|f64", "the model's precision (default: f16 on a GPU, f32 on the CPU)");
}

at::ScalarType generation_dtype(const CommandLine& args, at::Device device) {
    const auto dtype = args.get("dtype");
    return dtype ? parse_dtype(*dtype) : default_dtype(device);
}

LoraChoice parse_lora_choice(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon != std::string::npos && colon > 0) {
        const auto tail = text.substr(colon + 1);
        try {
            std::size_t used = 0;
            const double scale = std::stod(tail, &used);
            if (used == tail.size() && std::isfinite(scale)) return {text.substr(0, colon), scale};
        } catch (const std::exception&) {
        }
    }
    if (text.empty()) throw UsageError("--lora needs a file: --lora FILE[:SCALE]");
    return {text, 1.0};
}

PipelineOptions pipeline_options(const CommandLine& args, at::Device device, at::ScalarType dtype) {
    PipelineOptions o;
    o.device = device;
    o.dtype = dtype;
    o.tokenizer = args.get("tokenizer");
    o.vae = args.get("vae");
    o.taesd = args.get("taesd");
    for (const auto& text : args.get_all("lora")) o.loras.push_back(parse_lora_choice(text));
    if (const auto p = args.get("prediction")) o.unet.prediction = parse_prediction(*p);
    if (const auto c = args.get("config")) o.unet.config = read_unet_config(*c);
    if (args.given("heads")) o.text.num_heads = args.get_int("heads");
    return o;
}

std::shared_ptr<const Pipeline> load_generation_pipeline(const CommandLine& args,
                                                         const PipelineOptions& options, uint64_t seed,
                                                         const ProgressFn& progress) {
    if (const auto preset = args.get("preset"))
        return random_pipeline(*preset, seed, options.dtype, options.device, progress);
    return load_pipeline(args.get("model").value_or(default_model_path()), options, progress);
}

void warn_if_truncated(const Session& session, const std::string& command) {
    for (const auto* tokens : {&session.prompt_tokens(), &session.negative_tokens()})
        if (tokens->truncated)
            std::fprintf(stderr, "attnscope %s: warning: %d prompt tokens past CLIP's 77 were dropped\n",
                         command.c_str(), tokens->dropped_tokens);
}

void warn_unknown_words(const Session& session, const std::string& command) {
    const auto& guide = session.pipeline().prompt_guide;
    if (!guide) return;
    auto words = session.prompt_tokens().words;
    const auto& negative = session.negative_tokens().words;
    words.insert(words.end(), negative.begin(), negative.end());
    for (const auto& word : guide->unknown_words(words))
        std::fprintf(stderr, "attnscope %s: warning: %s\n", command.c_str(),
                     guide->unknown_words_line({word}).c_str());
}

void write_text(const std::string& path, const std::string& text) {
    AtomicFileWriter out(path);
    out.write(text.data(), text.size());
    out.commit();
}

} // namespace attnscope::cli
