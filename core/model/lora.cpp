#include "lora.h"

#include "io/safetensors_file.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

namespace attnscope {
namespace {

std::vector<std::string> keys_of(const Weights& w) {
    std::vector<std::string> keys;
    for (const auto& [key, _] : w.all()) keys.push_back(key);
    return keys;
}

} // namespace

LoraFile read_lora(const std::string& path, const UNet& unet, const ClipTextModel& text) {
    const SafetensorsFile file(path);
    const auto fail = [&](const std::string& key, const std::string& why) {
        return std::runtime_error(path + ": '" + key + "' " + why);
    };
    const std::map<LoraModel, const Weights*> models = {{LoraModel::UNet, &unet.weights()},
                                                        {LoraModel::TextEncoder, &text.weights()}};
    std::map<LoraModel, LayerNames> layer_names;
    for (const auto& [model, w] : models) layer_names.emplace(model, LayerNames(keys_of(*w)));

    std::map<std::pair<LoraModel, std::string>, LoraLayer> layers;
    std::map<std::pair<LoraModel, std::string>, double> alphas;
    auto names = file.names();
    std::sort(names.begin(), names.end());
    for (const auto& key : names) {
        const auto name = parse_lora_key(key);
        if (!name)
            throw fail(key,
                       "is not a LoRA weight this reader knows (kohya-ss lora_unet_/lora_te_ .lora_down/"
                       ".lora_up/.alpha, or diffusers/PEFT unet./text_encoder. .lora_A/.lora_B)" +
                           std::string(key.rfind("lora_te2_", 0) == 0 ? "; lora_te2_ is SDXL's second text "
                                                                        "encoder, which this model lacks"
                                                                      : ""));
        const auto module = layer_names.at(name->model).find(*name);
        if (!module)
            throw fail(key, "names no layer of this model's " +
                                std::string(name->model == LoraModel::UNet ? "U-Net" : "text encoder") +
                                ": is the LoRA for another model?");
        auto& layer = layers[{name->model, *module}];
        layer.model = name->model;
        layer.module = *module;
        const auto tensor = file.load(key, at::kFloat);
        if (name->part == LoraPart::Alpha) {
            if (tensor.numel() != 1 || !std::isfinite(tensor.item<double>()))
                throw fail(key, "should hold one finite number, the layer's alpha");
            alphas[{name->model, *module}] = tensor.item<double>();
        } else {
            (name->part == LoraPart::Down ? layer.down : layer.up) = tensor;
            if (name->part == LoraPart::Down) layer.key = key;
        }
    }

    LoraFile lora{path, {}};
    for (auto& [where, layer] : layers) {
        const auto& key = layer.key.empty() ? layer.module : layer.key;
        if (!layer.down.defined() || !layer.up.defined())
            throw fail(key,
                       std::string("has no ") + (layer.down.defined() ? "up" : "down") + " matrix beside it");
        try {
            models.at(layer.model)->check_adapter(layer.module, layer.down, layer.up);
        } catch (const std::invalid_argument& e) {
            throw fail(key, std::string("does not fit: ") + e.what() + " (is the LoRA for another model?)");
        }
        const auto alpha = alphas.find(where);
        layer.alpha = alpha != alphas.end() ? alpha->second : static_cast<double>(layer.down.size(0));
        lora.layers.push_back(std::move(layer));
    }
    if (lora.layers.empty()) throw std::runtime_error(path + ": holds no LoRA layers");
    return lora;
}

void apply_lora(const LoraFile& lora, UNet& unet, ClipTextModel& text,
                const std::shared_ptr<const std::atomic<double>>& scale) {
    for (const auto& layer : lora.layers) {
        Adapter a{layer.down, layer.up, layer.factor(), scale};
        if (layer.model == LoraModel::UNet)
            unet.add_adapter(layer.module, std::move(a));
        else
            text.add_adapter(layer.module, std::move(a));
    }
}

} // namespace attnscope
