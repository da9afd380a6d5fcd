#include "unet_config.h"

#include "io/json_text.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace attnscope {

UNetConfig sd15_unet_config() {
    return UNetConfig{};
}

UNetConfig sd21_unet_config() {
    UNetConfig c;
    c.heads = {5, 10, 20, 20};
    c.cross_attention_dim = 1024;
    c.use_linear_projection = true;
    c.upcast_attention = true;
    c.sample_size = 96;
    c.prediction = Prediction::VPrediction;
    return c;
}

UNetConfig sd21_base_unet_config() {
    UNetConfig c = sd21_unet_config();
    c.upcast_attention = false;
    c.sample_size = 64;
    c.prediction = Prediction::Epsilon;
    return c;
}

UNetConfig sdxl_unet_config() {
    UNetConfig c;
    c.block_out_channels = {320, 640, 1280};
    c.level_has_attention = {false, true, true};
    c.heads = {5, 10, 20};
    c.transformer_depth = {1, 2, 10};
    c.cross_attention_dim = 2048;
    c.use_linear_projection = true;
    c.sample_size = 128;
    c.addition_time_embed_dim = 256;
    c.addition_embed_input_dim = 2816;
    return c;
}

UNetConfig unet_config_preset(const std::string& name) {
    if (name == "sd15" || name == "sd1" || name == "v1") return sd15_unet_config();
    if (name == "sd21" || name == "sd2" || name == "v2") return sd21_unet_config();
    if (name == "sd21-base" || name == "sd2-base") return sd21_base_unet_config();
    if (name == "sdxl" || name == "sdxl-base") return sdxl_unet_config();
    throw std::invalid_argument("unknown model preset '" + name + "' (known: sd15, sd21, sd21-base, sdxl)");
}

std::string to_string(Prediction p) {
    return p == Prediction::Epsilon ? "epsilon" : "v_prediction";
}

Prediction parse_prediction(const std::string& s) {
    if (s == "epsilon" || s == "eps") return Prediction::Epsilon;
    if (s == "v_prediction" || s == "v") return Prediction::VPrediction;
    throw std::invalid_argument("unknown prediction type '" + s + "' (known: epsilon, v_prediction)");
}

std::string UNetConfig::family() const {
    return text_time() ? "SDXL" : "SD v" + std::to_string(version());
}

std::string UNetConfig::describe() const {
    const auto list = [](std::ostringstream& s, const std::vector<int>& v) {
        for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "/" : " ") << v[i];
    };
    std::ostringstream s;
    s << family() << " U-Net (channels";
    list(s, block_out_channels);
    s << ", heads";
    list(s, heads);
    if (transformer_depth != std::vector<int>(transformer_depth.size(), 1)) {
        s << ", transformer depth";
        list(s, transformer_depth);
    }
    s << ", context " << cross_attention_dim << ", " << to_string(prediction)
      << (upcast_attention ? ", upcast attention" : "") << (coordinate_channels ? ", x/y input" : "") << ")";
    return s.str();
}

void UNetConfig::validate() const {
    auto bad = [](const std::string& m) { throw std::invalid_argument("U-Net config: " + m); };
    if (block_out_channels.empty()) bad("block_out_channels is empty");
    if (level_has_attention.size() != block_out_channels.size())
        bad("down/up block types do not match block_out_channels");
    if (heads.size() != block_out_channels.size()) bad("one head count per level is needed");
    if (transformer_depth.size() != block_out_channels.size())
        bad("one transformer depth per level is needed");
    for (const int d : transformer_depth)
        if (d < 1) bad("transformer_layers_per_block must be at least 1");
    // SDXL's refiner: OpenCLIP bigG's context alone, and five micro-conditioning numbers (an aesthetic score
    // instead of the target size) where the base model has six.
    if (text_time() && cross_attention_dim == 1280 &&
        addition_embed_input_dim == 1280 + 5 * addition_time_embed_dim)
        bad("this is SDXL's refiner U-Net (context 1280, five micro-conditioning numbers); attnscope runs "
            "SDXL "
            "base, not the refiner");
    if (addition_time_embed_dim < 0 || (text_time() && pooled_text_dim() < 1))
        bad("projection_class_embeddings_input_dim " + std::to_string(addition_embed_input_dim) +
            " leaves no room for the pooled text embedding beside " + std::to_string(kTimeIds) + " x " +
            std::to_string(addition_time_embed_dim) + " micro-conditioning sinusoids");
    if (layers_per_block < 1) bad("layers_per_block must be at least 1");
    // Channels are checked modulo the group count: 0 would divide by zero (UBSan, fuzz_unet_config).
    if (norm_num_groups < 1) bad("norm_num_groups must be at least 1");
    if (sample_size < 1) bad("sample_size must be at least 1");
    if (in_channels < 1 || out_channels < 1 || cross_attention_dim < 1)
        bad("channel counts must be positive");
    if (coordinate_channels != 0 && coordinate_channels != 2)
        bad("coordinate_channels must be 0 or 2 (x and y), not " + std::to_string(coordinate_channels));
    for (int i = 0; i < levels(); ++i) {
        const int ch = block_out_channels[i];
        if (ch < 1 || ch % norm_num_groups != 0)
            bad("level " + std::to_string(i) + " has " + std::to_string(ch) +
                " channels, not a multiple of norm_num_groups=" + std::to_string(norm_num_groups));
        if (heads[i] < 1 || ch % heads[i] != 0)
            bad("level " + std::to_string(i) + ": " + std::to_string(ch) + " channels do not split into " +
                std::to_string(heads[i]) + " heads");
    }
}

namespace {

std::string field_of(const std::string& label, const std::string& field) {
    return label + ": \"" + field + "\"";
}

// Published configs write null for fields left at their default (SDXL's "upcast_attention": null).
bool given(const nlohmann::json& j, const char* field) {
    return j.contains(field) && !j[field].is_null();
}

template <typename T> T value_or(const nlohmann::json& j, const char* field, T fallback) {
    return given(j, field) ? j[field].get<T>() : fallback;
}

int whole_or(const nlohmann::json& j, const char* field, int fallback, const std::string& label) {
    return given(j, field) ? whole_int(j[field], field_of(label, field)) : fallback;
}

std::vector<int> int_or_list(const nlohmann::json& v, int levels, const std::string& field,
                             const std::string& label) {
    if (v.is_number_integer()) return std::vector<int>(levels, whole_int(v, field_of(label, field)));
    if (v.is_array() && static_cast<int>(v.size()) == levels) return whole_ints(v, field_of(label, field));
    throw std::invalid_argument(label + ": \"" + field + "\" must be an integer or a list of " +
                                std::to_string(levels) + " integers");
}

} // namespace

UNetConfig unet_config_from_json(const nlohmann::json& j, const std::string& label) {
    try {
        UNetConfig c;
        c.in_channels = whole_or(j, "in_channels", 4, label);
        c.out_channels = whole_or(j, "out_channels", 4, label);
        c.coordinate_channels = whole_or(j, "coordinate_channels", 0, label);
        c.block_out_channels = whole_ints(j.at("block_out_channels"), field_of(label, "block_out_channels"));
        const int levels = c.levels();
        const auto down = j.at("down_block_types").get<std::vector<std::string>>();
        const auto up = j.at("up_block_types").get<std::vector<std::string>>();
        if (static_cast<int>(down.size()) != levels || static_cast<int>(up.size()) != levels)
            throw std::invalid_argument(label + ": down/up block type lists must have one entry per level");
        c.level_has_attention.clear();
        for (int i = 0; i < levels; ++i) {
            const bool d = down[i] == "CrossAttnDownBlock2D", u = up[levels - 1 - i] == "CrossAttnUpBlock2D";
            if ((!d && down[i] != "DownBlock2D") || (!u && up[levels - 1 - i] != "UpBlock2D"))
                throw std::invalid_argument(label + ": unsupported block type '" + down[i] + "'/'" +
                                            up[levels - 1 - i] + "' (SD v1/v2 U-Nets only)");
            if (d != u)
                throw std::invalid_argument(label + ": down and up blocks of level " + std::to_string(i) +
                                            " disagree about attention");
            c.level_has_attention.push_back(d);
        }
        const std::string mid = value_or<std::string>(j, "mid_block_type", "UNetMidBlock2DCrossAttn");
        if (mid != "UNetMidBlock2DCrossAttn")
            throw std::invalid_argument(label + ": unsupported mid block '" + mid + "'");
        // diffusers' legacy naming: "attention_head_dim" holds the head count for SD v1/v2.
        const auto& heads =
            given(j, "num_attention_heads") ? j["num_attention_heads"] : j.at("attention_head_dim");
        c.heads = int_or_list(heads, levels, "attention_head_dim", label);
        c.layers_per_block = whole_or(j, "layers_per_block", 2, label);
        c.cross_attention_dim =
            whole_int(j.at("cross_attention_dim"), field_of(label, "cross_attention_dim"));
        c.use_linear_projection = value_or(j, "use_linear_projection", false);
        c.upcast_attention = value_or(j, "upcast_attention", false);
        c.norm_num_groups = whole_or(j, "norm_num_groups", 32, label);
        c.norm_eps = value_or(j, "norm_eps", 1e-5);
        c.sample_size = whole_or(j, "sample_size", 64, label);
        c.flip_sin_to_cos = value_or(j, "flip_sin_to_cos", true);
        c.freq_shift = value_or(j, "freq_shift", 0.0);
        if (given(j, "transformer_layers_per_block"))
            c.transformer_depth =
                int_or_list(j["transformer_layers_per_block"], levels, "transformer_layers_per_block", label);
        else
            c.transformer_depth.assign(levels, 1);
        if (given(j, "reverse_transformer_layers_per_block"))
            throw std::invalid_argument(label +
                                        ": a separate reverse_transformer_layers_per_block for the up "
                                        "path is not supported");
        const auto addition = value_or(j, "addition_embed_type", nlohmann::json());
        if (value_or(j, "class_embed_type", nlohmann::json()).is_string() ||
            (addition.is_string() && addition != "text_time"))
            throw std::invalid_argument(label + ": class embeddings and addition embeddings other than "
                                                "SDXL's text_time (upscalers, Kandinsky) are not supported");
        if (addition == "text_time") {
            c.addition_time_embed_dim =
                whole_int(j.at("addition_time_embed_dim"), field_of(label, "addition_time_embed_dim"));
            c.addition_embed_input_dim = whole_int(j.at("projection_class_embeddings_input_dim"),
                                                   field_of(label, "projection_class_embeddings_input_dim"));
        }
        c.validate();
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(label + ": " + e.what());
    }
}

nlohmann::json unet_config_to_json(const UNetConfig& c) {
    std::vector<std::string> down, up;
    for (int i = 0; i < c.levels(); ++i) {
        down.push_back(c.level_has_attention[i] ? "CrossAttnDownBlock2D" : "DownBlock2D");
        up.insert(up.begin(), c.level_has_attention[i] ? "CrossAttnUpBlock2D" : "UpBlock2D");
    }
    nlohmann::json j{{"_class_name", "UNet2DConditionModel"},
                     {"in_channels", c.in_channels},
                     {"out_channels", c.out_channels},
                     {"block_out_channels", c.block_out_channels},
                     {"down_block_types", down},
                     {"up_block_types", up},
                     {"mid_block_type", "UNetMidBlock2DCrossAttn"},
                     {"attention_head_dim", c.heads},
                     {"layers_per_block", c.layers_per_block},
                     {"cross_attention_dim", c.cross_attention_dim},
                     {"use_linear_projection", c.use_linear_projection},
                     {"upcast_attention", c.upcast_attention},
                     {"norm_num_groups", c.norm_num_groups},
                     {"norm_eps", c.norm_eps},
                     {"sample_size", c.sample_size},
                     {"flip_sin_to_cos", c.flip_sin_to_cos},
                     {"freq_shift", c.freq_shift},
                     {"transformer_layers_per_block", c.transformer_depth}};
    if (c.coordinate_channels > 0) j["coordinate_channels"] = c.coordinate_channels;
    if (c.text_time()) {
        j["addition_embed_type"] = "text_time";
        j["addition_time_embed_dim"] = c.addition_time_embed_dim;
        j["projection_class_embeddings_input_dim"] = c.addition_embed_input_dim;
    }
    return j;
}

} // namespace attnscope
