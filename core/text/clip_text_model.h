#pragma once
// The CLIP text encoders Stable Diffusion conditions on, computed as transformers' CLIPTextModel and
// CLIPTextModelWithProjection do: SD v1/v2 take last_hidden_state (B, T, hidden) as the U-Net's
// encoder_hidden_states; SDXL takes both its encoders' penultimate layers and the second one's pooled
// projection.
#include "io/safetensors_file.h"
#include "model/weights.h"
#include "text/clip_text_config.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

ClipTextConfig read_clip_text_config(const std::string& config_json_path);

// Where a checkpoint keeps the text encoder's tensors.
enum class ClipTextLayout {
    Diffusers,           // transformers' names: text_model.*
    DiffusersUnprefixed, // the same without "text_model.", as transformers 5's save_pretrained writes
    LdmV1,               // SD v1 single files: cond_stage_model.transformer.text_model.*
    OpenClip,            // SD v2 single files: cond_stage_model.model.* with q/k/v stacked in in_proj
    SdxlFirst,           // SDXL single files' CLIP ViT-L: conditioner.embedders.0.transformer.text_model.*
    SdxlOpenClip,        // SDXL single files' OpenCLIP ViT-bigG: conditioner.embedders.1.model.*
};

// Which of a model's text encoders: SD v1/v2 have one, SDXL a second (text_encoder_2/, embedder 1).
enum class TextEncoderSlot { First, Second };

std::string to_string(ClipTextLayout layout);

inline constexpr const char* kLdmV1TextPrefix = "cond_stage_model.transformer.";
inline constexpr const char* kOpenClipTextPrefix = "cond_stage_model.model.";
inline constexpr const char* kSdxlFirstTextPrefix = "conditioner.embedders.0.transformer.";
inline constexpr const char* kSdxlOpenClipTextPrefix = "conditioner.embedders.1.model.";

struct ClipTextLoadOptions {
    // Used as is when given; otherwise config.json next to the weights, else inferred from shapes.
    std::optional<ClipTextConfig> config;
    // Checkpoints do not record the head count; inference takes hidden/64 (true of ViT-L/14 and
    // ViT-H/14) unless this says otherwise.
    std::optional<int> num_heads;
    // OpenCLIP files hold every layer; SD v2 stops this many short of the last one (default 1; SDXL runs
    // them all: 0).
    std::optional<int> openclip_skipped_layers;
    TextEncoderSlot slot = TextEncoderSlot::First;
};

// What one pass computes. SDXL conditions on `penultimate` (hidden_states[-2]: the output of the last layer
// but one, before the final norm) and, from its second encoder, `text_embeds`.
struct ClipTextOutputs {
    at::Tensor last_hidden_state; // (B, T, hidden), after the final layer norm
    at::Tensor penultimate;       // (B, T, hidden)
    at::Tensor pooled;            // (B, hidden): last_hidden_state at each row's end token
    at::Tensor text_embeds; // (B, projection_dim): pooled through text_projection; undefined without one
};

// The config a single file's tensor shapes imply (layer count, widths, vocabulary, positions).
ClipTextConfig infer_clip_text_config(const SafetensorsFile& file, ClipTextLayout layout,
                                      const ClipTextLoadOptions& options = {});

class ClipTextModel {
  public:
    // `path`: a diffusers model folder (with text_encoder/), its text_encoder/ folder, or a .safetensors
    // file in any ClipTextLayout. Every key, shape and dtype is checked before any tensor is read.
    static ClipTextModel load(const std::string& path, at::ScalarType dtype, at::Device device,
                              const ClipTextLoadOptions& options = {});
    // Deterministic random weights (LayerNorm and biases perturbed too) for tests.
    static ClipTextModel random(const ClipTextConfig& config, uint64_t seed, at::ScalarType dtype,
                                at::Device device);
    ClipTextModel(ClipTextConfig config, Weights weights); // weights keyed by diffusers names

    // ids: (B, T) integer token ids, T <= max_positions. Returns last_hidden_state (B, T, hidden) in the
    // weights' dtype.
    at::Tensor forward(const at::Tensor& ids) const;
    // The same pass with everything SDXL takes from it.
    ClipTextOutputs encode(const at::Tensor& ids) const;

    const ClipTextConfig& config() const { return config_; }
    const Weights& weights() const { return weights_; }
    void add_adapter(const std::string& module, Adapter a) { weights_.add_adapter(module, std::move(a)); }
    at::ScalarType dtype() const { return dtype_; }
    at::Device device() const { return device_; }

    // The tensors as a checkpoint in `layout` holds them. OpenCLIP files get `openclip_unused_layers`
    // extra random final layers (seeded, never run) so loading must skip them as for SD v2.
    TensorMap state_dict(ClipTextLayout layout, int openclip_unused_layers = 1) const;

  private:
    ClipTextConfig config_;
    Weights weights_;
    at::ScalarType dtype_;
    at::Device device_;
};

struct ClipTextParam {
    std::string name; // diffusers name
    std::vector<int64_t> shape;
};

// Every parameter of the model, in a stable order.
std::vector<ClipTextParam> clip_text_parameters(const ClipTextConfig& config);

} // namespace attnscope
