#pragma once
// Everything one generation needs, loaded from one place: a diffusers model folder (tokenizer/,
// text_encoder/, unet/, vae/, scheduler/) or an original single-file checkpoint, plus optional stand-ins for
// parts of it.
#include "model/lora.h"
#include "model/lora_use.h"
#include "model/taesd_decoder.h"
#include "model/taesd_encoder.h"
#include "model/unet.h"
#include "model/unet_loader.h"
#include "model/vae_decoder.h"
#include "model/vae_encoder.h"
#include "sched/scheduler.h"
#include "text/clip_text_model.h"
#include "text/clip_tokenizer.h"
#include "text/prompt_guide.h"
#include "torch_generator.h"
#include "util/progress.h"

#include <ATen/ATen.h>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace attnscope {

struct PipelineOptions {
    at::ScalarType dtype = at::kFloat;
    at::Device device = at::kCPU;
    std::optional<std::string> tokenizer; // folder with vocab.json + merges.txt (single files have none)
    std::optional<std::string> vae;       // decode with this VAE instead of the model's own
    std::optional<std::string> taesd;     // a TAESD decoder for fast per-step previews
    // Overrides for what a single file does not record (norm groups, head counts of unusual models).
    UNetOpenOptions unet;
    ClipTextLoadOptions text;
    ClipTextLoadOptions text_2; // SDXL's second text encoder (its slot is set when it is read)
    std::optional<VaeConfig> vae_config;
    std::vector<LoraChoice> loras; // applied unmerged, in order
};

// One prompt as the U-Net takes it.
struct PromptEncoding {
    ClipEncoding tokens; // the first tokenizer's, which the views show (SDXL's second splits the same way)
    at::Tensor context;  // (1, 77, cross_attention_dim): the cross-attention's keys and values come from it
    at::Tensor
        pooled; // (1, pooled width): SDXL's second encoder's projected end token; undefined for SD v1/v2
    std::optional<ClipEncoding> tokens_2; // SDXL's second tokenizer's
};

// Full: the model's VAE. Fast: TAESD when one is loaded, else the VAE. Pixel-space models need neither.
enum class Decoder { Full, Fast };

struct Pipeline {
    std::string source; // the path it was loaded from
    ClipTokenizer tokenizer;
    std::string tokenizer_source;
    ClipTextModel text_encoder;
    UNet unet;
    std::optional<VaeDecoder> vae; // absent for pixel-space models
    std::optional<TaesdDecoder> taesd;
    // The captions the model was trained on, where its model_index.json declares them (the embedded model);
    // null for other models. Shared: the visualizer's UI thread reads it.
    std::shared_ptr<const PromptGuide> prompt_guide;
    std::vector<LoraInUse> loras;
    // The VAE's encoder, for starting from a picture: absent for pixel-space models, which need none, and
    // where the VAE file holds none (`no_encoder` then says why).
    std::optional<VaeEncoder> vae_encoder;
    std::string no_encoder;
    // TAESD's encoder where the TAESD given has one: pictures are encoded by it when the VAE has no encoder.
    std::optional<TaesdEncoder> taesd_encoder;
    // SDXL's second text encoder (OpenCLIP ViT-bigG with its projection) and its tokenizer (padding with
    // "!").
    std::optional<ClipTextModel> text_encoder_2;
    std::optional<ClipTokenizer> tokenizer_2;
    // SDXL's scheduler config spaces its timesteps "leading"; SD v1/v2's leave each class its default.
    TimestepSpacing spacing = TimestepSpacing::ClassDefault;

    bool pixel_space() const { return !vae; }
    int downscale() const { return vae ? vae->config().downscale() : 1; } // image pixels per latent pixel
    int latent_channels() const { return unet.config().in_channels; }
    std::pair<int, int> native_size() const; // width, height the U-Net was trained at
    // The guidance scale a generation takes unless told: the model's declared one (PromptGuide), else what
    // diffusers' pipelines default to: 7.5 for SD v1/v2, 5 for SDXL.
    double default_guidance() const;
    // Throws std::invalid_argument naming the rule a width/height breaks for this model.
    void check_size(int width, int height) const;
    bool sdxl() const { return unet.config().text_time(); }
    // SD v1/v2: the text encoder's last hidden state. SDXL: both encoders' penultimate layers side by side
    // (768 + 1280) and the second's pooled projection, as diffusers' StableDiffusionXLPipeline encodes.
    PromptEncoding encode_prompt(const std::string& prompt) const;
    // A picture (1, 3, H, W) in [-1, 1] (image_input.h) -> its clean latents as the U-Net sees them (times
    // scaling_factor) in the U-Net's dtype on its device: the VAE posterior sampled with one draw from `gen`,
    // as diffusers' img2img retrieve_latents does, or its mean when `gen` is null; without the VAE's encoder,
    // TAESD's (no draw, as diffusers with an AutoencoderTiny); pixel-space models take the picture itself and
    // draw nothing. Throws std::invalid_argument when the model has no encoder.
    at::Tensor encode_image(const at::Tensor& image, TorchCpuGenerator* gen) const;
    // Latents (B, C, h, w) as the U-Net sees them -> image (B, 3, H, W), float32 in [0, 1] on the CPU.
    at::Tensor decode(const at::Tensor& latents, Decoder decoder) const;
    std::string describe() const; // a few lines: source, components, dtype, device
};

// Throws std::runtime_error naming the file and what is wrong with it; reports progress while reading
// weights.
std::shared_ptr<const Pipeline> load_pipeline(const std::string& path, const PipelineOptions& options,
                                              const ProgressFn& progress = {});

// SD v1.5 / v2.1 / v2.1-base / SDXL topology at full size with random weights (bundled CLIP vocabulary, a
// random VAE and TAESD): for timing and memory studies, never for images. `preset` as unet_config_preset()
// names them.
std::shared_ptr<const Pipeline> random_pipeline(const std::string& preset, uint64_t seed,
                                                at::ScalarType dtype, at::Device device,
                                                const ProgressFn& progress = {});

// What runs when no model is given: the embedded tiny model in assets/.
std::string default_model_path();

} // namespace attnscope
