#pragma once
// The CLIP text encoder's hyper-parameters and the reader of transformers' text_encoder/config.json. No
// LibTorch, so a user's config reaches this parser under the fuzzer (tests/fuzz/fuzz_clip_text_config.cpp)
// just as it does in ClipTextModel::load.
#include <string>

namespace attnscope {

enum class ClipActivation { QuickGelu, Gelu };

std::string to_string(ClipActivation act);
ClipActivation parse_clip_activation(const std::string& name); // "quick_gelu" | "gelu"; throws otherwise

struct ClipTextConfig {
    int vocab_size = 49408;
    int hidden_size = 768;
    // Transformer layers run; final_layer_norm is applied to the last one's output. SD v2 takes the
    // penultimate layer of OpenCLIP's 24, so its config says 23 and single files hold one more layer.
    int num_layers = 12;
    int num_heads = 12;
    int intermediate_size = 3072;
    int max_positions = 77;
    ClipActivation act = ClipActivation::QuickGelu;
    double layer_norm_eps = 1e-5;
    // CLIPTextModelWithProjection (SDXL's second encoder): the pooled end token through text_projection
    // (projection_dim x hidden, no bias). 0: a plain CLIPTextModel.
    int projection_dim = 0;
    // The end token, whose final hidden state is the pooled output (the first in each row; 2, which old
    // configs carry, means transformers' legacy rule: the row's largest id). -1: the vocabulary's last id,
    // where CLIP keeps <|endoftext|> (49407 of 49408).
    int eos_token_id = -1;
    // Every CLIP encoder is causal: a token sees only the ones before it. Off (attnscope's own key "causal"
    // in config.json) only in the embedded model, whose first phrase must know the relation that follows.
    bool causal = true;
    int end_token() const { return eos_token_id < 0 ? vocab_size - 1 : eos_token_id; }

    static ClipTextConfig sd1();   // CLIP ViT-L/14
    static ClipTextConfig sd2();   // OpenCLIP ViT-H/14 as diffusers ships it (penultimate layer)
    static ClipTextConfig sdxl2(); // OpenCLIP ViT-bigG/14 with its projection: SDXL's text_encoder_2

    int head_dim() const { return hidden_size / num_heads; }
    void validate() const; // throws std::invalid_argument
    std::string describe() const;
    std::string to_json() const; // transformers' config.json field names
    bool operator==(const ClipTextConfig& o) const;
    bool operator!=(const ClipTextConfig& o) const { return !(*this == o); }
};

// `label` names the source in error messages.
ClipTextConfig clip_text_config_from_json(const std::string& json_text, const std::string& label);

} // namespace attnscope
