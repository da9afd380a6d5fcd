#include "lora_names.h"

#include <utility>

namespace attnscope {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string flat(std::string s) {
    for (auto& c : s)
        if (c == '.') c = '_';
    return s;
}

struct Naming {
    std::vector<std::pair<std::string, LoraModel>> prefixes;
    std::vector<std::pair<std::string, LoraPart>> suffixes;
    bool flat;
};

} // namespace

std::optional<LoraKey> parse_lora_key(std::string key) {
    static const Naming kohya{{{"lora_unet_", LoraModel::UNet},
                               {"lora_te_", LoraModel::TextEncoder},
                               {"lora_te1_", LoraModel::TextEncoder}},
                              {{".lora_down.weight", LoraPart::Down},
                               {".lora_up.weight", LoraPart::Up},
                               {".alpha", LoraPart::Alpha}},
                              true};
    static const Naming peft{
        {{"unet.", LoraModel::UNet}, {"text_encoder.", LoraModel::TextEncoder}},
        {{".lora_A.weight", LoraPart::Down}, {".lora_B.weight", LoraPart::Up}, {".alpha", LoraPart::Alpha}},
        false};
    if (starts_with(key, "base_model.model.")) key = key.substr(17);
    for (const auto* naming : {&kohya, &peft})
        for (const auto& [prefix, model] : naming->prefixes) {
            if (!starts_with(key, prefix)) continue;
            for (const auto& [suffix, part] : naming->suffixes)
                if (ends_with(key, suffix) && key.size() > prefix.size() + suffix.size())
                    return LoraKey{model,
                                   key.substr(prefix.size(), key.size() - prefix.size() - suffix.size()),
                                   naming->flat, part};
            return std::nullopt;
        }
    return std::nullopt;
}

LayerNames::LayerNames(const std::vector<std::string>& weight_keys) {
    for (const auto& key : weight_keys)
        if (ends_with(key, ".weight")) {
            const auto layer = key.substr(0, key.size() - 7);
            by_flat_.emplace(flat(layer), layer);
        }
}

std::optional<std::string> LayerNames::find(const LoraKey& key) const {
    const auto it = by_flat_.find(key.flat ? key.layer : flat(key.layer));
    if (it == by_flat_.end() || (!key.flat && it->second != key.layer)) return std::nullopt;
    return it->second;
}

} // namespace attnscope
