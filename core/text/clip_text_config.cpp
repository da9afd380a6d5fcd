#include "clip_text_config.h"

#include "io/json_text.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace attnscope {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
}

} // namespace

std::string to_string(ClipActivation act) {
    return act == ClipActivation::QuickGelu ? "quick_gelu" : "gelu";
}

ClipActivation parse_clip_activation(const std::string& name) {
    if (name == "quick_gelu") return ClipActivation::QuickGelu;
    if (name == "gelu") return ClipActivation::Gelu;
    throw std::invalid_argument("unsupported hidden_act '" + name + "' (supported: quick_gelu, gelu)");
}

ClipTextConfig ClipTextConfig::sd1() {
    return {};
}

ClipTextConfig ClipTextConfig::sd2() {
    ClipTextConfig c;
    c.hidden_size = 1024;
    c.num_layers = 23;
    c.num_heads = 16;
    c.intermediate_size = 4096;
    c.act = ClipActivation::Gelu;
    return c;
}

ClipTextConfig ClipTextConfig::sdxl2() {
    ClipTextConfig c;
    c.hidden_size = 1280;
    c.num_layers = 32;
    c.num_heads = 20;
    c.intermediate_size = 5120;
    c.act = ClipActivation::Gelu;
    c.projection_dim = 1280;
    return c;
}

void ClipTextConfig::validate() const {
    const auto positive = [](int v, const char* what) {
        if (v <= 0)
            throw std::invalid_argument(std::string(what) + " must be positive, got " + std::to_string(v));
    };
    positive(vocab_size, "vocab_size");
    positive(hidden_size, "hidden_size");
    positive(num_layers, "num_hidden_layers");
    positive(num_heads, "num_attention_heads");
    positive(intermediate_size, "intermediate_size");
    positive(max_positions, "max_position_embeddings");
    if (hidden_size % num_heads != 0)
        throw std::invalid_argument("hidden_size " + std::to_string(hidden_size) +
                                    " is not divisible by num_attention_heads " + std::to_string(num_heads));
    if (projection_dim < 0) throw std::invalid_argument("projection_dim must not be negative");
    if (!(layer_norm_eps > 0) || !std::isfinite(layer_norm_eps))
        throw std::invalid_argument("layer_norm_eps must be positive and finite");
}

std::string ClipTextConfig::describe() const {
    return "CLIP text encoder (hidden " + std::to_string(hidden_size) + ", " + std::to_string(num_layers) +
           " layers, " + std::to_string(num_heads) + " heads, intermediate " +
           std::to_string(intermediate_size) + ", " + to_string(act) + ", vocab " +
           std::to_string(vocab_size) + ", " + std::to_string(max_positions) + " positions" +
           (projection_dim > 0 ? ", projection " + std::to_string(projection_dim) : "") +
           (causal ? "" : ", bidirectional") + ")";
}

std::string ClipTextConfig::to_json() const {
    nlohmann::json j = {
        {"architectures", {projection_dim > 0 ? "CLIPTextModelWithProjection" : "CLIPTextModel"}},
        {"model_type", "clip_text_model"},
        {"vocab_size", vocab_size},
        {"hidden_size", hidden_size},
        {"num_hidden_layers", num_layers},
        {"num_attention_heads", num_heads},
        {"intermediate_size", intermediate_size},
        {"max_position_embeddings", max_positions},
        {"hidden_act", to_string(act)},
        {"layer_norm_eps", layer_norm_eps},
        {"eos_token_id", eos_token_id}};
    if (projection_dim > 0) j["projection_dim"] = projection_dim;
    if (!causal) j["causal"] = false;
    return j.dump(2);
}

bool ClipTextConfig::operator==(const ClipTextConfig& o) const {
    return vocab_size == o.vocab_size && hidden_size == o.hidden_size && num_layers == o.num_layers &&
           num_heads == o.num_heads && intermediate_size == o.intermediate_size &&
           max_positions == o.max_positions && act == o.act && layer_norm_eps == o.layer_norm_eps &&
           projection_dim == o.projection_dim && end_token() == o.end_token() && causal == o.causal;
}

ClipTextConfig clip_text_config_from_json(const std::string& json_text, const std::string& label) {
    const auto j = parse_json_object(json_text, label);
    if (j.contains("model_type") && j["model_type"].is_string() && j["model_type"] != "clip_text_model")
        fail(label, "describes a '" + j["model_type"].get<std::string>() + "' model, not a CLIP text model");
    // Missing fields take transformers' CLIPTextConfig defaults, as the reference would (not the SD ones).
    ClipTextConfig c;
    c.hidden_size = 512;
    c.num_heads = 8;
    c.intermediate_size = 2048;
    read_fields(label, [&] {
        read_if_present(j, "vocab_size", c.vocab_size);
        read_if_present(j, "hidden_size", c.hidden_size);
        read_if_present(j, "num_hidden_layers", c.num_layers);
        read_if_present(j, "num_attention_heads", c.num_heads);
        read_if_present(j, "intermediate_size", c.intermediate_size);
        read_if_present(j, "max_position_embeddings", c.max_positions);
        read_if_present(j, "layer_norm_eps", c.layer_norm_eps);
        if (j.contains("hidden_act")) c.act = parse_clip_activation(j["hidden_act"].get<std::string>());
        read_if_present(j, "eos_token_id", c.eos_token_id);
        read_if_present(j, "causal", c.causal);
        // Every CLIPTextConfig carries a projection_dim; only the model with a projection has the layer.
        const auto arch = j.value("architectures", nlohmann::json::array());
        const bool projected = arch.is_array() && std::find(arch.begin(), arch.end(),
                                                            "CLIPTextModelWithProjection") != arch.end();
        c.projection_dim = projected ? 512 : 0; // transformers' default where the file gives none
        if (projected) read_if_present(j, "projection_dim", c.projection_dim);
        c.validate();
    });
    return c;
}

} // namespace attnscope
