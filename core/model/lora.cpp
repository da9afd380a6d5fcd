#include "lora.h"

#include "io/safetensors_file.h"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace attnscope {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What one key of the file is: which model, which layer (as the file names it), which part.
struct KeyName {
    LoraLayer::Model model;
    std::string layer; // kohya: the flat name ("down_blocks_0_..."); PEFT: the dotted name
    bool flat = false;
    enum class Part { Down, Up, Alpha } part;
};

std::optional<KeyName> name_of(std::string key) {
    using Part = KeyName::Part;
    using Model = LoraLayer::Model;
    static const std::pair<const char*, Part> kohya_parts[] = {
        {".lora_down.weight", Part::Down}, {".lora_up.weight", Part::Up}, {".alpha", Part::Alpha}};
    static const std::pair<const char*, Model> kohya_models[] = {
        {"lora_unet_", Model::UNet}, {"lora_te_", Model::TextEncoder}, {"lora_te1_", Model::TextEncoder}};
    for (const auto& [prefix, model] : kohya_models) {
        if (!starts_with(key, prefix)) continue;
        for (const auto& [suffix, part] : kohya_parts)
            if (ends_with(key, suffix))
                return KeyName{
                    model,
                    key.substr(std::string(prefix).size(),
                               key.size() - std::string(prefix).size() - std::string(suffix).size()),
                    true, part};
        return std::nullopt;
    }
    if (starts_with(key, "base_model.model.")) key = key.substr(17);
    static const std::pair<const char*, Part> peft_parts[] = {
        {".lora_A.weight", Part::Down}, {".lora_B.weight", Part::Up}, {".alpha", Part::Alpha}};
    static const std::pair<const char*, Model> peft_models[] = {{"unet.", Model::UNet},
                                                                {"text_encoder.", Model::TextEncoder}};
    for (const auto& [prefix, model] : peft_models) {
        if (!starts_with(key, prefix)) continue;
        for (const auto& [suffix, part] : peft_parts)
            if (ends_with(key, suffix))
                return KeyName{
                    model,
                    key.substr(std::string(prefix).size(),
                               key.size() - std::string(prefix).size() - std::string(suffix).size()),
                    false, part};
        return std::nullopt;
    }
    return std::nullopt;
}

// Flat kohya name -> diffusers layer name, for every layer of the model that has a weight.
std::map<std::string, std::string> flat_names(const Weights& w) {
    std::map<std::string, std::string> names;
    for (const auto& [key, _] : w.all()) {
        if (!ends_with(key, ".weight")) continue;
        const auto layer = key.substr(0, key.size() - 7);
        auto flat = layer;
        for (auto& c : flat)
            if (c == '.') c = '_';
        names.emplace(flat, layer);
    }
    return names;
}

} // namespace

LoraFile read_lora(const std::string& path, const UNet& unet, const ClipTextModel& text) {
    const SafetensorsFile file(path);
    const auto fail = [&](const std::string& key, const std::string& why) {
        return std::runtime_error(path + ": '" + key + "' " + why);
    };
    const std::map<LoraLayer::Model, const Weights*> models = {
        {LoraLayer::Model::UNet, &unet.weights()}, {LoraLayer::Model::TextEncoder, &text.weights()}};
    std::map<LoraLayer::Model, std::map<std::string, std::string>> flat;
    for (const auto& [model, w] : models) flat[model] = flat_names(*w);

    std::map<std::pair<LoraLayer::Model, std::string>, LoraLayer> layers;
    std::map<std::pair<LoraLayer::Model, std::string>, double> alphas;
    auto names = file.names();
    std::sort(names.begin(), names.end());
    for (const auto& key : names) {
        const auto name = name_of(key);
        if (!name)
            throw fail(key,
                       "is not a LoRA weight this reader knows (kohya-ss lora_unet_/lora_te_ .lora_down/"
                       ".lora_up/.alpha, or diffusers/PEFT unet./text_encoder. .lora_A/.lora_B)" +
                           std::string(starts_with(key, "lora_te2_") ? "; lora_te2_ is SDXL's second text "
                                                                       "encoder, which this model lacks"
                                                                     : ""));
        std::string module = name->layer;
        if (name->flat) {
            const auto& names_of_model = flat.at(name->model);
            const auto it = names_of_model.find(name->layer);
            if (it == names_of_model.end())
                throw fail(key,
                           "names no layer of this model's " +
                               std::string(name->model == LoraLayer::Model::UNet ? "U-Net" : "text encoder") +
                               ": is the LoRA for another model?");
            module = it->second;
        }
        auto& layer = layers[{name->model, module}];
        layer.model = name->model;
        layer.module = module;
        const auto tensor = file.load(key, at::kFloat);
        if (name->part == KeyName::Part::Alpha) {
            if (tensor.numel() != 1) throw fail(key, "should hold one number, the layer's alpha");
            alphas[{name->model, module}] = tensor.item<double>();
        } else {
            (name->part == KeyName::Part::Down ? layer.down : layer.up) = tensor;
            if (name->part == KeyName::Part::Down) layer.key = key;
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
        if (layer.model == LoraLayer::Model::UNet)
            unet.add_adapter(layer.module, std::move(a));
        else
            text.add_adapter(layer.module, std::move(a));
    }
}

} // namespace attnscope
