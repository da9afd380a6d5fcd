#include "site.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace attnscope {

double AttentionSite::scale() const {
    return 1.0 / std::sqrt(static_cast<double>(head_dim));
}

std::string AttentionSite::label() const {
    return "index " + std::to_string(index) + " " + to_string(kind) + " " + std::to_string(height) + "x" +
           std::to_string(width);
}

UNetPath unet_path(const std::string& module) {
    for (const auto& [prefix, path] : {std::pair<const char*, UNetPath>{"down_blocks.", UNetPath::Down},
                                       {"mid_block.", UNetPath::Mid},
                                       {"up_blocks.", UNetPath::Up}})
        if (module.rfind(prefix, 0) == 0) return path;
    throw std::invalid_argument("attention module '" + module + "' is on no path of the U-Net");
}

const char* to_string(UNetPath p) {
    return p == UNetPath::Down ? "down" : p == UNetPath::Mid ? "mid" : "up";
}

std::string transformer_module(const std::string& attention_module) {
    return attention_module.substr(0, attention_module.find(".transformer_blocks."));
}

std::string AttentionSite::place() const {
    return std::string(to_string(unet_path(module))) +
           (level >= 0 ? ", level " + std::to_string(level) : "") + ", " + transformer_module(module) +
           ", block " + std::to_string(depth + 1);
}

} // namespace attnscope
