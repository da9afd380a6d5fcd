#include "pipeline.h"

#include "io/json_text.h"
#include "util/assets.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

// In fp16 and bf16 on CUDA the U-Net's convolutions and activations run in NHWC, with GroupNorm and SiLU in
// one kernel of ours: cuDNN's convolutions take NHWC, and NCHW costs two conversions each (SD v1.5 on an
// H100: 15.3 -> 11.9 ms a step eager, 13.0 -> 9.3 replayed). fp32, which our kernel does not take, and the
// CPU keep NCHW.
void choose_memory_format(UNet& unet) {
    const auto type = unet.dtype();
    if (unet.device().is_cuda() && (type == at::kHalf || type == at::kBFloat16)) unet.use_channels_last();
}

// The padding a tokenizer folder, or a model folder's tokenizer/, declares in its configs; else `otherwise`.
ClipTokenizerOptions declared_padding(const fs::path& folder, const ClipTokenizerOptions& otherwise) {
    const auto declares = [](const fs::path& d) {
        return fs::is_regular_file(d / "tokenizer_config.json") ||
               fs::is_regular_file(d / "special_tokens_map.json");
    };
    return declares(folder) || declares(folder / "tokenizer") ? ClipTokenizerOptions::from_folder(folder)
                                                              : otherwise;
}

// The model's own vocabulary when it has one, else CLIP's bundled copy (the same for every SD model), with
// the padding the model's folder declares or its version implies.
std::pair<ClipTokenizer, std::string> load_tokenizer(const std::string& path, const PipelineOptions& options,
                                                     int version) {
    const fs::path model = path;
    const bool folder = fs::is_directory(model);
    const auto padding = [&](const fs::path& declared) {
        return declared_padding(declared,
                                version == 2 ? ClipTokenizerOptions::sd_v2() : ClipTokenizerOptions::sd_v1());
    };
    // SDXL's first tokenizer is SD v1's (padding with the end token); --tokenizer names it.
    if (options.tokenizer)
        return {ClipTokenizer(*options.tokenizer, padding(*options.tokenizer)), *options.tokenizer};
    if (folder && fs::is_regular_file(model / "tokenizer" / "vocab.json"))
        return {ClipTokenizer(model, padding(model)), (model / "tokenizer").string()};
    const auto bundled = assets_dir() / "clip-tokenizer";
    return {ClipTokenizer(bundled, folder ? padding(model) : padding(bundled)),
            bundled.string() + " (CLIP's vocabulary, bundled)"};
}

// SDXL's second tokenizer: the folder's tokenizer_2/ (its vocabulary, else CLIP's bundled one, which is the
// same; its padding as its config declares), else padding with "!" as OpenCLIP's does.
ClipTokenizer load_second_tokenizer(const std::string& path) {
    const fs::path folder = fs::path(path) / "tokenizer_2";
    const bool vocabulary = fs::is_regular_file(folder / "vocab.json");
    return ClipTokenizer(vocabulary ? folder : assets_dir() / "clip-tokenizer",
                         declared_padding(folder, ClipTokenizerOptions::sd_v2()));
}

// The spacing a model folder's scheduler config names, where attnscope follows it: SDXL's (leading unless it
// says otherwise) and any Turbo model's trailing. SD v1/v2 keep each class's default, as their configs leave
// it.
TimestepSpacing model_spacing(const std::string& path, const UNetConfig& unet) {
    const auto config = fs::path(path) / "scheduler" / "scheduler_config.json";
    const auto named = fs::is_regular_file(config)
                           ? scheduler_spacing_from_json(read_config_text(config), config.string())
                           : std::nullopt;
    if (named == TimestepSpacing::Trailing) return *named;
    if (unet.text_time()) return named.value_or(TimestepSpacing::Leading);
    return TimestepSpacing::ClassDefault;
}

// SDXL's second encoder, checked against the U-Net: the two encoders' widths side by side are its context,
// the second's projection its pooled input.
ClipTextModel load_second_text_encoder(const std::string& path, const PipelineOptions& options,
                                       const ClipTextModel& first, const UNetConfig& unet) {
    auto o = options.text_2;
    o.slot = TextEncoderSlot::Second;
    auto second = [&] {
        try {
            return ClipTextModel::load(path, options.dtype, options.device, o);
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string(e.what()) +
                                     " (an SDXL model has two text encoders: its second, " +
                                     "OpenCLIP ViT-bigG, is missing or unreadable)");
        }
    }();
    const int width = first.config().hidden_size + second.config().hidden_size;
    if (width != unet.cross_attention_dim || second.config().projection_dim != unet.pooled_text_dim())
        throw std::runtime_error(
            path + ": the text encoders give " + std::to_string(width) + "-wide context and a " +
            std::to_string(second.config().projection_dim) + "-wide pooled embedding, but the U-Net takes " +
            std::to_string(unet.cross_attention_dim) + " and " + std::to_string(unet.pooled_text_dim()));
    return second;
}

std::optional<VaeDecoder> load_vae(const std::string& path, const PipelineOptions& options,
                                   const UNet& unet) {
    if (options.vae) return VaeDecoder::load(*options.vae, options.dtype, options.device, options.vae_config);
    if (unet.config().in_channels == 3 && unet.config().out_channels == 3) return std::nullopt; // pixel space
    try {
        return VaeDecoder::load(path, options.dtype, options.device, options.vae_config);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string(e.what()) +
                                 "\n(the U-Net works on latents, so a VAE is needed to see images: give one "
                                 "with --vae PATH)");
    }
}

// SDXL's VAE overflows fp16 (diffusers' force_upcast): an SDXL pipeline asked for fp16 runs it in fp32
// unless its config says it is a VAE fixed for fp16. SD v1/v2 pipelines never upcast, as diffusers'.
at::ScalarType vae_dtype(const VaeConfig& config, bool xl, at::ScalarType dtype) {
    return xl && dtype == at::kHalf && config.force_upcast ? at::kFloat : dtype;
}

// The encoder of the VAE the decoder came from, in the decoder's dtype. Many VAE files hold both halves; one
// that does not only stops pictures from being a starting point, so it is recorded, not thrown.
void load_vae_encoder(const std::string& path, const PipelineOptions& options, Pipeline& p) {
    if (!p.vae) return;
    try {
        p.vae_encoder = VaeEncoder::load(options.vae ? *options.vae : path, p.vae->dtype(), options.device,
                                         p.vae->config());
    } catch (const std::exception& e) {
        p.no_encoder = e.what();
    }
}

// How warnings name a model that declares its prompts: the embedded one by that name, so a newcomer learns
// what the default is. Where the bundled files are gone no model is the embedded one.
std::shared_ptr<const PromptGuide> load_prompt_guide(const std::string& path) {
    if (!fs::is_directory(path)) return nullptr;
    bool embedded = false;
    try {
        std::error_code ec;
        embedded = fs::equivalent(path, default_model_path(), ec);
    } catch (const std::runtime_error&) {
    }
    auto guide = read_prompt_guide(path, embedded ? "the embedded model" : "the model");
    return guide ? std::make_shared<const PromptGuide>(std::move(*guide)) : nullptr;
}

} // namespace

std::pair<int, int> Pipeline::native_size() const {
    const int side = unet.config().sample_size * downscale();
    return {side, side};
}

double Pipeline::default_guidance() const {
    if (prompt_guide && prompt_guide->guidance_scale) return *prompt_guide->guidance_scale;
    return sdxl() ? 5.0 : 7.5; // what diffusers' SDXL and SD pipelines take unless told
}

void Pipeline::check_size(int width, int height) const {
    // Whole latent pixels, and at least 8 image pixels a step as diffusers asks; sides that do not halve
    // evenly down the U-Net are fine (up-sampling follows the skips), multiples of 64 keep every level exact.
    const int multiple = std::max(8, downscale());
    const int largest = 4096;
    for (const auto& [name, v] : {std::pair<const char*, int>{"width", width}, {"height", height}}) {
        if (v <= 0 || v % multiple != 0)
            throw std::invalid_argument(std::string(name) + " " + std::to_string(v) +
                                        " is not a positive multiple of " + std::to_string(multiple) +
                                        " pixels (64 keeps every U-Net level whole)");
        if (v > largest)
            throw std::invalid_argument(std::string(name) + " " + std::to_string(v) + " is above " +
                                        std::to_string(largest) + " pixels");
    }
}

PromptEncoding Pipeline::encode_prompt(const std::string& prompt) const {
    auto encoding = tokenizer.encode(prompt);
    const auto ids = [](const ClipEncoding& e, const ClipTextModel& m) {
        return at::tensor(e.ids, at::kLong).unsqueeze(0).to(m.device());
    };
    if (!sdxl()) {
        auto context = text_encoder.forward(ids(encoding, text_encoder));
        return {std::move(encoding), std::move(context), {}, {}};
    }
    auto encoding_2 = tokenizer_2->encode(prompt);
    const auto first = text_encoder.encode(ids(encoding, text_encoder));
    const auto second = text_encoder_2->encode(ids(encoding_2, *text_encoder_2));
    const auto device = unet.device();
    return {std::move(encoding), at::cat({first.penultimate.to(device), second.penultimate.to(device)}, -1),
            second.text_embeds.to(device), std::move(encoding_2)};
}

at::Tensor Pipeline::encode_image(const at::Tensor& image, TorchCpuGenerator* gen) const {
    if (!vae) return image.to(unet.device(), unet.dtype());
    if (!vae_encoder && taesd_encoder) return taesd_encoder->encode(image).to(unet.device(), unet.dtype());
    if (!vae_encoder)
        throw std::invalid_argument("this model cannot read a picture: " + no_encoder +
                                    " (or give a TAESD with its encoder: --taesd)");
    const auto posterior = vae_encoder->encode(image);
    const auto drawn = [&] {
        const auto noise = gen->randn(posterior.mean.sizes(), vae_encoder->dtype());
        return posterior.sample(noise.to(vae_encoder->device()));
    };
    const auto latents = (gen ? drawn() : posterior.mean) * vae_encoder->config().scaling_factor;
    return latents.to(unet.device(), unet.dtype());
}

at::Tensor Pipeline::decode(const at::Tensor& latents, Decoder decoder) const {
    at::Tensor image;
    if (!vae)
        image = latents;
    else if (decoder == Decoder::Fast && taesd)
        image = taesd->decode(latents.to(taesd->device(), taesd->dtype()));
    else
        image = vae->decode(latents.to(vae->device(), vae->dtype()));
    return (image.to(at::kCPU, at::kFloat) / 2 + 0.5).clamp(0, 1);
}

std::string Pipeline::describe() const {
    std::string s = "model      " + source + "\n";
    s += "tokenizer  " + tokenizer_source + "\n";
    s += "text       " + text_encoder.config().describe() + "\n";
    if (text_encoder_2) s += "text 2     " + text_encoder_2->config().describe() + "\n";
    s += "U-Net      " + unet.config().describe() + "\n";
    s += "decoder    " + (vae ? vae->config().describe() : std::string("none: the U-Net works on pixels"));
    if (vae && vae->dtype() != unet.dtype())
        s += " in " + std::string(c10::toString(vae->dtype())) + " (SDXL's VAE overflows " +
             c10::toString(unet.dtype()) + ")";
    s += "\n";
    if (taesd) s += "previews   TAESD\n";
    for (const auto& l : loras) {
        char scale[32];
        std::snprintf(scale, sizeof scale, "%.3g", l.scale->load());
        s += "LoRA       " + l.path + " (" + std::to_string(l.layers) + " layers, scale " + scale + ")\n";
    }
    s += "precision  " + std::string(c10::toString(unet.dtype())) + " on " + unet.device().str();
    if (unet.channels_last()) s += ", channels-last";
    return s;
}

std::shared_ptr<const Pipeline> load_pipeline(const std::string& path, const PipelineOptions& options,
                                              const ProgressFn& progress) {
    const auto report = [&](double f, const std::string& what) {
        if (progress) progress(f, what);
    };
    auto guide = load_prompt_guide(path); // before the weights: a malformed one fails at once
    report(0.0, "reading the U-Net");
    const auto checkpoint = open_unet_checkpoint(path, options.unet);
    if (checkpoint.config.in_channels == 9)
        throw std::runtime_error(path + ": an inpainting U-Net (9 input channels: latents, mask and masked "
                                        "picture); attnscope generates from noise or from a whole picture");
    auto unet = load_unet(checkpoint, options.dtype, options.device,
                          [&](double f, const std::string& what) { report(0.7 * f, what); });
    choose_memory_format(unet);
    report(0.7, "reading the text encoder");
    auto text = ClipTextModel::load(path, options.dtype, options.device, options.text);
    const bool xl = unet.config().text_time();
    std::optional<ClipTextModel> text_2;
    if (xl) text_2 = load_second_text_encoder(path, options, text, unet.config());
    if (!xl && text.config().hidden_size != unet.config().cross_attention_dim)
        throw std::runtime_error(path + ": the text encoder's width " +
                                 std::to_string(text.config().hidden_size) +
                                 " does not match the U-Net's cross_attention_dim " +
                                 std::to_string(unet.config().cross_attention_dim));
    auto [tokenizer, tokenizer_source] = load_tokenizer(path, options, unet.config().version());
    if (tokenizer.vocab_size() > static_cast<std::size_t>(text.config().vocab_size))
        throw std::runtime_error(
            tokenizer_source + ": the vocabulary has " + std::to_string(tokenizer.vocab_size()) +
            " tokens but the text encoder embeds only " + std::to_string(text.config().vocab_size));
    report(0.85, "reading the decoder");
    auto vae_options = options;
    // A single file records no VAE config; SDXL's latents are scaled by its own factor.
    if (xl && !options.vae_config && !fs::is_directory(path)) vae_options.vae_config = VaeConfig::sdxl();
    auto vae = load_vae(path, vae_options, unet);
    if (vae && vae->config().latent_channels != unet.config().in_channels)
        throw std::runtime_error(path + ": the VAE has " + std::to_string(vae->config().latent_channels) +
                                 " latent channels but the U-Net takes " +
                                 std::to_string(unet.config().in_channels));
    if (vae) {
        const auto wanted = vae_dtype(vae->config(), xl, options.dtype);
        if (wanted != vae->dtype()) vae = vae->to(wanted);
    }
    std::optional<TaesdDecoder> taesd;
    std::optional<TaesdEncoder> taesd_encoder;
    if (options.taesd) {
        taesd = TaesdDecoder::load(*options.taesd, options.dtype, options.device);
        taesd_encoder = TaesdEncoder::beside(*options.taesd, options.dtype, options.device);
    }
    // Every file read and checked before any is applied: a refused one leaves the models as loaded.
    std::vector<LoraFile> files;
    for (const auto& choice : options.loras) {
        report(0.95, "reading LoRA " + choice.path);
        files.push_back(read_lora(choice.path, unet, text));
    }
    std::vector<LoraInUse> loras;
    for (size_t i = 0; i < files.size(); ++i) {
        loras.push_back({files[i].path, static_cast<int>(files[i].layers.size()),
                         std::make_shared<std::atomic<double>>(options.loras[i].scale)});
        apply_lora(files[i], unet, text, loras.back().scale);
    }
    const auto spacing = model_spacing(path, unet.config());
    Pipeline p{path,
               std::move(tokenizer),
               std::move(tokenizer_source),
               std::move(text),
               std::move(unet),
               std::move(vae),
               std::move(taesd),
               std::move(guide),
               std::move(loras),
               {},
               {},
               std::move(taesd_encoder),
               std::move(text_2),
               xl ? std::optional<ClipTokenizer>(load_second_tokenizer(path)) : std::nullopt,
               spacing};
    load_vae_encoder(path, vae_options, p);
    report(1.0, "model ready");
    return std::make_shared<const Pipeline>(std::move(p));
}

std::shared_ptr<const Pipeline> random_pipeline(const std::string& preset, uint64_t seed,
                                                at::ScalarType dtype, at::Device device,
                                                const ProgressFn& progress) {
    const auto report = [&](double f, const std::string& what) {
        if (progress) progress(f, what);
    };
    auto config = unet_config_preset(preset);
    report(0.0, "random " + preset + " U-Net");
    auto unet = UNet::random(config, seed, dtype, device);
    choose_memory_format(unet);
    report(0.6, "random text encoder");
    const bool v2 = config.version() == 2, xl = config.text_time();
    auto text =
        ClipTextModel::random(v2 ? ClipTextConfig::sd2() : ClipTextConfig::sd1(), seed + 1, dtype, device);
    const auto vocabulary = assets_dir() / "clip-tokenizer";
    ClipTokenizer tokenizer(vocabulary, v2 ? ClipTokenizerOptions::sd_v2() : ClipTokenizerOptions::sd_v1());
    report(0.8, "random VAE and TAESD");
    const auto vae_config = xl ? VaeConfig::sdxl() : VaeConfig::sd();
    auto vae = VaeDecoder::random(vae_config, seed + 2, vae_dtype(vae_config, xl, dtype), device);
    auto taesd = TaesdDecoder::random(seed + 3, dtype, device);
    auto encoder = VaeEncoder::random(vae_config, seed + 4, vae.dtype(), device);
    Pipeline p{"random weights, preset " + preset,
               std::move(tokenizer),
               vocabulary.string() + " (CLIP's vocabulary, bundled)",
               std::move(text),
               std::move(unet),
               std::move(vae),
               std::move(taesd),
               nullptr,
               {},
               std::move(encoder),
               {},
               std::nullopt,
               xl ? std::optional<ClipTextModel>(
                        ClipTextModel::random(ClipTextConfig::sdxl2(), seed + 5, dtype, device))
                  : std::nullopt,
               xl ? std::optional<ClipTokenizer>(ClipTokenizer(vocabulary, ClipTokenizerOptions::sd_v2()))
                  : std::nullopt,
               xl ? TimestepSpacing::Leading : TimestepSpacing::ClassDefault};
    report(1.0, "model ready");
    return std::make_shared<const Pipeline>(std::move(p));
}

std::string default_model_path() {
    return (assets_dir() / "tiny-sd").string();
}

} // namespace attnscope
