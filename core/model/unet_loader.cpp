#include "unet_loader.h"

#include "../io/component_files.h"
#include "../io/json_text.h"
#include "../sched/scheduler_config.h"
#include "../util/shape_string.h"

#include <filesystem>
#include <stdexcept>

namespace attnscope {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw std::runtime_error(path + ": " + what);
}

std::optional<Prediction> prediction_from_metadata(const SafetensorsFile& f) {
    const auto& md = f.header().metadata;
    const auto it = md.find("modelspec.prediction_type");
    if (it == md.end()) return std::nullopt;
    if (it->second == "v") return Prediction::VPrediction;
    if (it->second == "epsilon") return Prediction::Epsilon;
    return std::nullopt;
}

} // namespace

UNetConfig read_unet_config(const std::string& path) {
    return unet_config_from_json(parse_json_object(read_config_text(path), path), path);
}

std::string to_string(KeyLayout layout) {
    return layout == KeyLayout::Ldm ? "original LDM checkpoint" : "diffusers";
}

UNetConfig infer_unet_config(const SafetensorsFile& file, KeyLayout layout, const std::string& prefix) {
    const auto shape = [&](const std::string& key) -> const std::vector<int64_t>& {
        const auto* e = file.header().find(prefix + key);
        if (!e) fail(file.path(), "cannot infer the U-Net config: no tensor '" + prefix + key + "'");
        return e->shape;
    };
    const auto has = [&](const std::string& key) { return file.contains(prefix + key); };
    const bool ldm = layout == KeyLayout::Ldm;
    const auto s = [](int i) { return std::to_string(i); };

    UNetConfig c;
    if (ldm) {
        int first_down = 1; // input_blocks.(L+1) is the first downsampler
        while (!has("input_blocks." + s(first_down) + ".0.op.weight") && first_down < 64) ++first_down;
        int downsamplers = 0;
        while (has("input_blocks." + s((downsamplers + 1) * first_down) + ".0.op.weight")) ++downsamplers;
        c.layers_per_block = first_down - 1;
        if (downsamplers == 0 || c.layers_per_block < 1)
            fail(file.path(), "cannot find the U-Net's down-sampling blocks");
        const int L = c.layers_per_block;
        c.block_out_channels.clear();
        c.level_has_attention.clear();
        for (int b = 0; b <= downsamplers; ++b) {
            const std::string blk = "input_blocks." + s(1 + b * (L + 1));
            c.block_out_channels.push_back(static_cast<int>(shape(blk + ".0.out_layers.3.weight")[0]));
            c.level_has_attention.push_back(has(blk + ".1.proj_in.weight"));
        }
        c.in_channels = static_cast<int>(shape("input_blocks.0.0.weight")[1]);
        c.out_channels = static_cast<int>(shape("out.2.weight")[0]);
    } else {
        int levels = 0;
        while (has("down_blocks." + s(levels) + ".resnets.0.conv1.weight")) ++levels;
        int L = 0;
        while (has("down_blocks.0.resnets." + s(L) + ".conv1.weight")) ++L;
        if (levels == 0 || L == 0) fail(file.path(), "cannot find the U-Net's down blocks");
        c.layers_per_block = L;
        c.block_out_channels.clear();
        c.level_has_attention.clear();
        for (int b = 0; b < levels; ++b) {
            c.block_out_channels.push_back(
                static_cast<int>(shape("down_blocks." + s(b) + ".resnets.0.conv1.weight")[0]));
            c.level_has_attention.push_back(has("down_blocks." + s(b) + ".attentions.0.proj_in.weight"));
        }
        c.in_channels = static_cast<int>(shape("conv_in.weight")[1]);
        c.out_channels = static_cast<int>(shape("conv_out.weight")[0]);
    }
    const std::string mid_attn = ldm ? "middle_block.1." : "mid_block.attentions.0.";
    c.cross_attention_dim = static_cast<int>(shape(mid_attn + "transformer_blocks.0.attn2.to_k.weight")[1]);
    c.use_linear_projection = shape(mid_attn + "proj_in.weight").size() == 2;
    // Blocks per transformer: counted in each level's first transformer (and the mid block's for the last).
    c.transformer_depth.clear();
    const int levels = c.levels();
    for (int b = 0; b < levels; ++b) {
        const std::string first = ldm ? "input_blocks." + s(1 + b * (c.layers_per_block + 1)) + ".1."
                                      : "down_blocks." + s(b) + ".attentions.0.";
        const std::string t = c.level_has_attention[b] ? first : b + 1 == levels ? mid_attn : "";
        int depth = 0;
        while (!t.empty() && has(t + "transformer_blocks." + s(depth) + ".attn1.to_q.weight")) ++depth;
        c.transformer_depth.push_back(std::max(depth, 1));
    }
    // SDXL's text_time embedding; its sinusoid width is not in any shape, and every SDXL uses 256.
    const std::string addition = ldm ? "label_emb.0.0.weight" : "add_embedding.linear_1.weight";
    if (has(addition)) {
        c.addition_time_embed_dim = 256;
        c.addition_embed_input_dim = static_cast<int>(shape(addition)[1]);
    }
    c.heads.clear();
    for (int ch : c.block_out_channels) c.heads.push_back(c.use_linear_projection ? std::max(ch / 64, 1) : 8);
    // SD v2 checkpoints do not record upcasting; fp32 softmax is always the safe choice for them.
    c.upcast_attention = c.use_linear_projection && !c.text_time();
    const bool v2 = c.use_linear_projection && !c.text_time();
    c.prediction =
        prediction_from_metadata(file).value_or(v2 ? Prediction::VPrediction : Prediction::Epsilon);
    c.sample_size = c.text_time() ? 128 : c.prediction == Prediction::VPrediction ? 96 : 64;
    try {
        c.validate();
    } catch (const std::invalid_argument& e) {
        fail(file.path(), std::string("inferred an unusable config: ") + e.what());
    }
    return c;
}

UNetCheckpoint open_unet_checkpoint(const std::string& path, const UNetOpenOptions& options) {
    UNetCheckpoint ck;
    const auto files = locate_component(
        path, {"unet",
               {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"},
               "diffusion_pytorch_model.bin",
               "U-Net"});
    const fs::path& weights = files.weights;
    const auto& config_json = files.config_json;
    std::optional<Prediction> folder_prediction;
    if (fs::is_directory(path)) {
        const auto sched = weights.parent_path().parent_path() / "scheduler" / "scheduler_config.json";
        if (fs::is_regular_file(sched))
            folder_prediction = scheduler_prediction_from_json(read_config_text(sched), sched.string());
    }
    ck.weights_path = weights.string();
    ck.file = std::make_shared<const SafetensorsFile>(ck.weights_path);
    const auto& f = *ck.file;

    if (f.contains(std::string(kLdmUNetPrefix) + "input_blocks.0.0.weight")) {
        ck.layout = KeyLayout::Ldm;
        ck.key_prefix = kLdmUNetPrefix;
    } else if (f.contains("conv_in.weight")) {
        ck.layout = KeyLayout::Diffusers;
    } else {
        std::string first;
        for (const auto& t : f.header().tensors) {
            if (first.size() > 200) break;
            first += (first.empty() ? "'" : ", '") + t.name + "'";
        }
        fail(ck.weights_path,
             "does not hold a Stable Diffusion U-Net: found neither 'conv_in.weight' (diffusers) nor '" +
                 std::string(kLdmUNetPrefix) + "input_blocks.0.0.weight' (original checkpoint); " +
                 (first.empty() ? "it holds no tensors" : "it holds " + first + ", ..."));
    }

    if (options.config) {
        ck.config = *options.config;
        ck.config_source = "given by the caller";
    } else if (config_json) {
        ck.config = read_unet_config(config_json->string());
        ck.config_source = config_json->string();
        ck.config.prediction = folder_prediction.value_or(prediction_from_metadata(f).value_or(
            ck.config.version() == 2 && ck.config.sample_size >= 96 ? Prediction::VPrediction
                                                                    : Prediction::Epsilon));
    } else {
        ck.config = infer_unet_config(f, ck.layout, ck.key_prefix);
        ck.config_source = "inferred from weight shapes";
        if (folder_prediction) ck.config.prediction = *folder_prediction;
    }
    if (options.prediction) ck.config.prediction = *options.prediction;

    for (const auto& spec : unet_parameters(ck.config)) {
        const auto key = ck.file_key(spec);
        const auto* e = f.header().find(key);
        if (!e)
            fail(ck.weights_path,
                 "missing U-Net weight '" + key + "'" +
                     (ck.layout == KeyLayout::Ldm ? " (diffusers name '" + spec.name + "')" : "") + " for " +
                     ck.config.describe());
        if (e->shape != spec.shape)
            fail(ck.weights_path, "U-Net weight '" + key + "' has shape " + shape_string(e->shape) +
                                      ", expected " + shape_string(spec.shape) + " for " +
                                      ck.config.describe() + " (config " + ck.config_source + ")");
        if (!is_floating(e->dtype))
            fail(ck.weights_path, "U-Net weight '" + key + "' is stored as " +
                                      std::string(dtype_name(e->dtype)) + ", expected a floating-point type");
    }
    return ck;
}

UNet load_unet(const UNetCheckpoint& ck, at::ScalarType dtype, at::Device device,
               const ProgressFn& progress) {
    const auto specs = unet_parameters(ck.config);
    Weights w;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        w.set(specs[i].name, ck.file->load(ck.file_key(specs[i]), dtype, device));
        if (progress && (i % 16 == 0 || i + 1 == specs.size()))
            progress(static_cast<double>(i + 1) / specs.size(), "loading U-Net weights");
    }
    return UNet(ck.config, std::move(w));
}

TensorMap unet_state_dict(const UNet& unet, KeyLayout layout) {
    TensorMap out;
    for (const auto& spec : unet_parameters(unet.config()))
        out[layout == KeyLayout::Ldm ? std::string(kLdmUNetPrefix) + spec.ldm : spec.name] =
            unet.weights()[spec.name];
    return out;
}

} // namespace attnscope
