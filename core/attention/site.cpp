#include "site.h"

#include <cmath>

namespace attnscope {

double AttentionSite::scale() const {
    return 1.0 / std::sqrt(static_cast<double>(head_dim));
}

std::string AttentionSite::label() const {
    return "index " + std::to_string(index) + " " + to_string(kind) + " " + std::to_string(height) + "x" +
           std::to_string(width);
}

} // namespace attnscope
