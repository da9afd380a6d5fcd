#include "clip_text_model.h"

#include "io/component_files.h"
#include "io/json_text.h"
#include "model/nn.h"
#include "util/shape_string.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
}

const std::string kTokenEmbedding = "text_model.embeddings.token_embedding.weight";
const std::string kPositionEmbedding = "text_model.embeddings.position_embedding.weight";
const std::string kFinalNorm = "text_model.final_layer_norm";
const std::string kProjection = "text_projection.weight";

std::string layer_prefix(int l) {
    return "text_model.encoder.layers." + std::to_string(l) + ".";
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// Where a diffusers-named parameter lives in a file: its key and, for OpenCLIP's stacked q/k/v
// projection, which third of it (-1: the whole tensor); OpenCLIP's text projection is stored transposed.
struct FileKey {
    std::string key;
    int part = -1;
    bool transposed = false;
};

FileKey openclip_key(const std::string& name, const std::string& P) {
    if (name == kProjection) return {P + "text_projection", -1, true}; // used as x @ P: (hidden, projection)
    if (name == kTokenEmbedding) return {P + "token_embedding.weight"};
    if (name == kPositionEmbedding) return {P + "positional_embedding"};
    if (starts_with(name, kFinalNorm + ".")) return {P + "ln_final" + name.substr(kFinalNorm.size())};
    const std::string layers = "text_model.encoder.layers.";
    if (!starts_with(name, layers)) throw std::logic_error("no OpenCLIP name for '" + name + "'");
    const auto dot = name.find('.', layers.size());
    const std::string block = P + "transformer.resblocks." + name.substr(layers.size(), dot - layers.size());
    const std::string rest = name.substr(dot + 1);
    static const std::map<std::string, std::string> renames = {{"self_attn.out_proj", "attn.out_proj"},
                                                               {"layer_norm1", "ln_1"},
                                                               {"layer_norm2", "ln_2"},
                                                               {"mlp.fc1", "mlp.c_fc"},
                                                               {"mlp.fc2", "mlp.c_proj"}};
    const auto last_dot = rest.rfind('.');
    const std::string module = rest.substr(0, last_dot), param = rest.substr(last_dot + 1);
    const char* qkv[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
    for (int i = 0; i < 3; ++i)
        if (module == qkv[i]) return {block + ".attn.in_proj_" + param, i};
    const auto it = renames.find(module);
    if (it == renames.end()) throw std::logic_error("no OpenCLIP name for '" + name + "'");
    return {block + "." + it->second + "." + param};
}

FileKey file_key(const std::string& name, ClipTextLayout layout) {
    switch (layout) {
    case ClipTextLayout::Diffusers:
        return {name};
    case ClipTextLayout::DiffusersUnprefixed:
        return {starts_with(name, "text_model.") ? name.substr(std::string("text_model.").size()) : name};
    case ClipTextLayout::LdmV1:
        return {kLdmV1TextPrefix + name};
    case ClipTextLayout::SdxlFirst:
        return {kSdxlFirstTextPrefix + name};
    case ClipTextLayout::OpenClip:
        return openclip_key(name, kOpenClipTextPrefix);
    case ClipTextLayout::SdxlOpenClip:
        return openclip_key(name, kSdxlOpenClipTextPrefix);
    }
    throw std::logic_error("unknown ClipTextLayout");
}

// The key whose presence identifies each layout.
std::string marker_key(ClipTextLayout layout) {
    return file_key(kTokenEmbedding, layout).key;
}

int64_t checked_dim(const SafetensorsFile& f, const std::string& key, std::size_t rank, std::size_t dim) {
    const auto* e = f.header().find(key);
    if (!e) fail(f.path(), "cannot infer the text encoder config: no tensor '" + key + "'");
    if (e->shape.size() != rank)
        fail(f.path(), "text encoder tensor '" + key + "' has shape " + shape_string(e->shape) +
                           ", expected " + std::to_string(rank) + " dimensions");
    return e->shape[dim];
}

at::Tensor activation(ClipActivation act, const at::Tensor& x) {
    // quick_gelu is the sigmoid approximation original CLIP was trained with; OpenCLIP used exact gelu.
    return act == ClipActivation::QuickGelu ? x * at::sigmoid(1.702 * x) : at::gelu(x);
}

} // namespace

std::string to_string(ClipTextLayout layout) {
    switch (layout) {
    case ClipTextLayout::Diffusers:
        return "diffusers";
    case ClipTextLayout::DiffusersUnprefixed:
        return "diffusers without 'text_model.'";
    case ClipTextLayout::LdmV1:
        return "SD v1 single-file";
    case ClipTextLayout::OpenClip:
        return "SD v2 single-file (OpenCLIP)";
    case ClipTextLayout::SdxlFirst:
        return "SDXL single-file (CLIP ViT-L)";
    case ClipTextLayout::SdxlOpenClip:
        return "SDXL single-file (OpenCLIP ViT-bigG)";
    }
    return "?";
}

ClipTextConfig read_clip_text_config(const std::string& config_json_path) {
    return clip_text_config_from_json(read_config_text(config_json_path), config_json_path);
}

std::vector<ClipTextParam> clip_text_parameters(const ClipTextConfig& c) {
    const int64_t H = c.hidden_size, I = c.intermediate_size;
    std::vector<ClipTextParam> out = {{kTokenEmbedding, {c.vocab_size, H}},
                                      {kPositionEmbedding, {c.max_positions, H}}};
    const auto add_linear = [&](const std::string& p, int64_t out_f, int64_t in_f) {
        out.push_back({p + ".weight", {out_f, in_f}});
        out.push_back({p + ".bias", {out_f}});
    };
    const auto add_norm = [&](const std::string& p) {
        out.push_back({p + ".weight", {H}});
        out.push_back({p + ".bias", {H}});
    };
    for (int l = 0; l < c.num_layers; ++l) {
        const auto p = layer_prefix(l);
        for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
            add_linear(p + "self_attn." + proj, H, H);
        add_norm(p + "layer_norm1");
        add_linear(p + "mlp.fc1", I, H);
        add_linear(p + "mlp.fc2", H, I);
        add_norm(p + "layer_norm2");
    }
    add_norm(kFinalNorm);
    if (c.projection_dim > 0) out.push_back({kProjection, {c.projection_dim, H}});
    return out;
}

ClipTextConfig infer_clip_text_config(const SafetensorsFile& f, ClipTextLayout layout,
                                      const ClipTextLoadOptions& options) {
    const auto key = [&](const std::string& name) { return file_key(name, layout).key; };
    ClipTextConfig c;
    c.vocab_size = static_cast<int>(checked_dim(f, key(kTokenEmbedding), 2, 0));
    c.hidden_size = static_cast<int>(checked_dim(f, key(kTokenEmbedding), 2, 1));
    c.max_positions = static_cast<int>(checked_dim(f, key(kPositionEmbedding), 2, 0));
    int stored = 0;
    while (f.contains(key(layer_prefix(stored) + "layer_norm1.weight"))) ++stored;
    c.intermediate_size = static_cast<int>(checked_dim(f, key(layer_prefix(0) + "mlp.fc1.weight"), 2, 0));
    const bool openclip = layout == ClipTextLayout::OpenClip || layout == ClipTextLayout::SdxlOpenClip;
    if (openclip) {
        const int skipped =
            options.openclip_skipped_layers.value_or(layout == ClipTextLayout::OpenClip ? 1 : 0);
        c.num_layers = stored - skipped;
        if (c.num_layers <= 0)
            fail(f.path(), "holds " + std::to_string(stored) +
                               " OpenCLIP text layers, too few to skip the last " + std::to_string(skipped));
    } else {
        c.num_layers = stored;
    }
    // SDXL's second encoder is the one SD model with a text projection it uses (SD v2 files hold one unused).
    if (layout == ClipTextLayout::SdxlOpenClip)
        c.projection_dim = static_cast<int>(checked_dim(f, key(kProjection), 2, 1));
    else if (layout != ClipTextLayout::OpenClip && f.contains(key(kProjection)))
        c.projection_dim = static_cast<int>(checked_dim(f, key(kProjection), 2, 0));
    // OpenCLIP trained its text towers with exact gelu, OpenAI's CLIP (SD v1, SDXL's first) with quick_gelu.
    // A bare diffusers file says neither; ViT-H (1024 wide) and ViT-bigG (1280) are the gelu ones SD uses.
    c.act =
        openclip || (layout == ClipTextLayout::Diffusers && (c.hidden_size == 1024 || c.hidden_size == 1280))
            ? ClipActivation::Gelu
            : ClipActivation::QuickGelu;
    c.num_heads = options.num_heads.value_or(c.hidden_size / 64);
    if (!options.num_heads && (c.hidden_size % 64 != 0 || c.num_heads == 0))
        fail(f.path(), "cannot infer the head count of a " + std::to_string(c.hidden_size) +
                           "-wide text encoder (assumed 64 per head); give the head count explicitly");
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        fail(f.path(), std::string("inferred an unusable text encoder config: ") + e.what());
    }
    return c;
}

ClipTextModel::ClipTextModel(ClipTextConfig config, Weights weights)
    : config_(std::move(config)), weights_(std::move(weights)),
      dtype_(weights_[kTokenEmbedding].scalar_type()), device_(weights_[kTokenEmbedding].device()) {
    config_.validate();
}

ClipTextModel ClipTextModel::load(const std::string& path, at::ScalarType dtype, at::Device device,
                                  const ClipTextLoadOptions& options) {
    const bool second = options.slot == TextEncoderSlot::Second;
    const auto files = locate_component(path, {second ? "text_encoder_2" : "text_encoder",
                                               {"model.safetensors", "model.fp16.safetensors"},
                                               "pytorch_model.bin",
                                               second ? "second text encoder" : "text encoder"});
    const fs::path& weights_path = files.weights;
    const auto& config_json = files.config_json;
    const SafetensorsFile f(weights_path.string());

    // An SDXL single file holds both encoders: each slot looks for its own.
    const auto candidates =
        second ? std::vector<ClipTextLayout>{ClipTextLayout::Diffusers, ClipTextLayout::DiffusersUnprefixed,
                                             ClipTextLayout::SdxlOpenClip}
               : std::vector<ClipTextLayout>{ClipTextLayout::Diffusers, ClipTextLayout::DiffusersUnprefixed,
                                             ClipTextLayout::LdmV1, ClipTextLayout::OpenClip,
                                             ClipTextLayout::SdxlFirst};
    std::optional<ClipTextLayout> layout;
    for (auto l : candidates)
        if (f.contains(marker_key(l))) {
            layout = l;
            break;
        }
    if (!layout) {
        std::string first;
        for (const auto& t : f.header().tensors) {
            if (first.size() > 200) break;
            first += (first.empty() ? "'" : ", '") + t.name + "'";
        }
        std::string wanted;
        for (auto l : candidates)
            if (l != ClipTextLayout::DiffusersUnprefixed)
                wanted += (wanted.empty() ? "'" : ", '") + marker_key(l) + "' (" + to_string(l) + ")";
        fail(f.path(), std::string("does not hold ") +
                           (second ? "SDXL's second text encoder" : "a CLIP text encoder") +
                           ": found none of " + wanted + "; " +
                           (first.empty() ? "it holds no tensors" : "it holds " + first + ", ..."));
    }

    ClipTextConfig config;
    std::string config_source;
    if (options.config) {
        config = *options.config;
        config_source = "given by the caller";
        config.validate();
    } else if (config_json) {
        config = read_clip_text_config(config_json->string());
        config_source = config_json->string();
    } else {
        config = infer_clip_text_config(f, *layout, options);
        config_source = "inferred from weight shapes";
    }

    // Check everything before reading anything, so a bad file fails fast and names what is wrong.
    const auto specs = clip_text_parameters(config);
    std::vector<FileKey> keys;
    keys.reserve(specs.size());
    for (const auto& spec : specs) {
        auto fk = file_key(spec.name, *layout);
        auto expected = spec.shape;
        if (fk.part >= 0) expected[0] *= 3; // q, k, v stacked
        if (fk.transposed) std::swap(expected[0], expected[1]);
        const auto* e = f.header().find(fk.key);
        const std::string diffusers_name =
            *layout == ClipTextLayout::Diffusers ? std::string() : " (diffusers name '" + spec.name + "')";
        if (!e)
            fail(f.path(), "missing text encoder weight '" + fk.key + "'" + diffusers_name + " for " +
                               config.describe() + " (config " + config_source + ")");
        if (e->shape != expected)
            fail(f.path(), "text encoder weight '" + fk.key + "' has shape " + shape_string(e->shape) +
                               ", expected " + shape_string(expected) + " for " + config.describe() +
                               " (config " + config_source + ")");
        if (!is_floating(e->dtype))
            fail(f.path(), "text encoder weight '" + fk.key + "' is stored as " +
                               std::string(dtype_name(e->dtype)) + ", expected a floating-point type");
        keys.push_back(std::move(fk));
    }

    Weights w;
    std::map<std::string, at::Tensor> stacked; // each in_proj read once, shared by q, k and v
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto& fk = keys[i];
        if (fk.part < 0) {
            const auto t = f.load(fk.key, dtype, device);
            w.set(specs[i].name, fk.transposed ? t.t().contiguous() : t);
            continue;
        }
        auto it = stacked.find(fk.key);
        if (it == stacked.end()) it = stacked.emplace(fk.key, f.load(fk.key, dtype, device)).first;
        const int64_t H = config.hidden_size;
        w.set(specs[i].name, it->second.narrow(0, fk.part * H, H).clone());
    }
    return ClipTextModel(config, std::move(w));
}

ClipTextModel ClipTextModel::random(const ClipTextConfig& config, uint64_t seed, at::ScalarType dtype,
                                    at::Device device) {
    config.validate();
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto randn = [&](at::IntArrayRef shape) {
        return at::randn(shape, gen, at::TensorOptions().dtype(at::kDouble));
    };
    Weights w;
    for (const auto& spec : clip_text_parameters(config)) {
        const auto& n = spec.name;
        const bool is_norm = n.find("layer_norm") != std::string::npos;
        const bool is_weight = n.size() > 7 && n.compare(n.size() - 7, 7, ".weight") == 0;
        at::Tensor t;
        if (is_norm)
            t = is_weight ? 1.0 + 0.2 * randn(spec.shape) : 0.1 * randn(spec.shape);
        else if (n == kTokenEmbedding || n == kPositionEmbedding)
            t = 0.5 * randn(spec.shape);
        else if (is_weight) // keep activations O(1) through the layers
            t = randn(spec.shape) / std::sqrt(static_cast<double>(spec.shape[1]));
        else
            t = 0.1 * randn(spec.shape);
        w.set(n, t.to(device, dtype));
    }
    return ClipTextModel(config, std::move(w));
}

at::Tensor ClipTextModel::forward(const at::Tensor& ids) const {
    return encode(ids).last_hidden_state;
}

ClipTextOutputs ClipTextModel::encode(const at::Tensor& ids) const {
    if (ids.dim() != 2)
        throw std::invalid_argument("text encoder input ids must be (batch, tokens), got shape " +
                                    shape_string(ids.sizes()));
    if (at::isFloatingType(ids.scalar_type()) || ids.scalar_type() == at::kBool)
        throw std::invalid_argument("text encoder input ids must be integers, got " +
                                    std::string(c10::toString(ids.scalar_type())));
    const int64_t B = ids.size(0), T = ids.size(1), H = config_.hidden_size;
    if (T > config_.max_positions || T == 0)
        throw std::invalid_argument("text encoder input has " + std::to_string(T) + " tokens, expected 1.." +
                                    std::to_string(config_.max_positions));
    if (ids.numel() > 0) {
        const auto lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
        if (lo < 0 || hi >= config_.vocab_size)
            throw std::invalid_argument("text encoder input ids span [" + std::to_string(lo) + ", " +
                                        std::to_string(hi) + "], outside the vocabulary of " +
                                        std::to_string(config_.vocab_size));
    }
    if (device_.is_cpu() && dtype_ == at::kHalf)
        throw std::invalid_argument("float16 text encoding needs CUDA; on the CPU use float32 or bfloat16");

    const auto& w = weights_;
    const double eps = config_.layer_norm_eps;
    const int64_t heads = config_.num_heads, d = config_.head_dim();
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    // Reduced precision softmax loses the small probabilities; transformers also computes it in fp32.
    const bool upcast = dtype_ == at::kHalf || dtype_ == at::kBFloat16;

    const auto on_device = ids.to(device_, at::kLong);
    // The pooled output is the end token's: the first one in each row, or by the legacy rule (eos id 2 in
    // old configs) the largest id, as transformers picks it.
    const auto end = config_.eos_token_id == 2 ? on_device.argmax(-1)
                                               : on_device.eq(config_.end_token()).to(at::kInt).argmax(-1);
    // Query i sees keys 0..i (causal); without the causal mask the caption's tokens also see the rest of
    // the caption up to its end token, but never the padding after it, which would outweigh a short caption.
    const auto position = at::arange(T, at::TensorOptions().dtype(at::kLong).device(device_));
    const auto last_seen = config_.causal ? position.view({1, T, 1})
                                          : at::maximum(position.view({1, T, 1}), end.view({B, 1, 1}));
    const auto future = (position.view({1, 1, T}) > last_seen).unsqueeze(1); // (B or 1, 1, T, T)

    at::Tensor x = at::embedding(w[kTokenEmbedding], on_device) + w[kPositionEmbedding].narrow(0, 0, T);
    const auto split_heads = [&](const at::Tensor& t) { return t.view({B, T, heads, d}).transpose(1, 2); };

    ClipTextOutputs out;
    for (int l = 0; l < config_.num_layers; ++l) {
        if (l == config_.num_layers - 1) out.penultimate = x;
        const auto p = layer_prefix(l);
        const auto h = nn::layer_norm(w, p + "layer_norm1", x, eps);
        const auto q = split_heads(nn::linear(w, p + "self_attn.q_proj", h));
        const auto k = split_heads(nn::linear(w, p + "self_attn.k_proj", h));
        const auto v = split_heads(nn::linear(w, p + "self_attn.v_proj", h));
        auto scores = at::matmul(q, k.transpose(-1, -2)) * scale;
        if (upcast) scores = scores.to(at::kFloat);
        scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
        const auto probs = at::softmax(scores, -1).to(dtype_);
        const auto attn = at::matmul(probs, v).transpose(1, 2).reshape({B, T, H});
        x = x + nn::linear(w, p + "self_attn.out_proj", attn);
        const auto m = nn::layer_norm(w, p + "layer_norm2", x, eps);
        x = x + nn::linear(w, p + "mlp.fc2", activation(config_.act, nn::linear(w, p + "mlp.fc1", m)));
    }
    out.last_hidden_state = nn::layer_norm(w, kFinalNorm, x, eps);
    out.pooled = out.last_hidden_state.gather(1, end.view({B, 1, 1}).expand({B, 1, H})).squeeze(1);
    if (config_.projection_dim > 0) out.text_embeds = at::matmul(out.pooled, w[kProjection].t());
    return out;
}

TensorMap ClipTextModel::state_dict(ClipTextLayout layout, int openclip_unused_layers) const {
    TensorMap out;
    std::map<std::string, std::vector<at::Tensor>> stacked;
    for (const auto& spec : clip_text_parameters(config_)) {
        const auto fk = file_key(spec.name, layout);
        if (fk.part < 0) {
            out[fk.key] = fk.transposed ? weights_[spec.name].t().contiguous() : weights_[spec.name];
        } else {
            auto& parts = stacked[fk.key];
            parts.resize(3);
            parts[fk.part] = weights_[spec.name];
        }
    }
    for (const auto& [key, parts] : stacked) out[key] = at::cat(parts, 0);
    if ((layout == ClipTextLayout::OpenClip || layout == ClipTextLayout::SdxlOpenClip) &&
        openclip_unused_layers > 0) {
        // Layers past num_layers, which SD v2 never runs: random so that running them would show.
        auto extra_config = config_;
        extra_config.num_layers += openclip_unused_layers;
        const auto extra = random(extra_config, 0x5eed, dtype_, device_);
        for (const auto& spec : clip_text_parameters(extra_config)) {
            const auto fk = file_key(spec.name, layout);
            if (out.count(fk.key)) continue;
            auto& parts = stacked[fk.key];
            if (fk.part < 0) {
                out[fk.key] = extra.weights()[spec.name];
            } else {
                parts.resize(3);
                parts[fk.part] = extra.weights()[spec.name];
                if (parts[0].defined() && parts[1].defined() && parts[2].defined())
                    out[fk.key] = at::cat(parts, 0);
            }
        }
    }
    return out;
}

} // namespace attnscope
