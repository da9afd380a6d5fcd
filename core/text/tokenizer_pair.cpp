#include "tokenizer_pair.h"

#include <algorithm>

namespace attnscope {

std::string compare_tokenizations(const ClipEncoding& first, const ClipEncoding& second) {
    std::string differences;
    int shown = 0, differing = 0;
    const int length = std::max(first.length, second.length);
    for (int i = 0; i < length; ++i) {
        const auto token = [i](const ClipEncoding& e) {
            return i < static_cast<int>(e.tokens.size()) ? e.tokens[i] : std::string("(none)");
        };
        if (token(first) == token(second)) continue;
        ++differing;
        if (shown++ < 4)
            differences += (differences.empty() ? "" : ", ") + std::string("position ") + std::to_string(i) +
                           " ('" + token(first) + "' / '" + token(second) + "')";
    }
    if (differing > 0) return "the tokenizers differ at " + differences + (differing > shown ? ", ..." : "");
    const auto pad = [](const ClipEncoding& e) {
        return e.length < static_cast<int>(e.tokens.size()) ? e.tokens[e.length] : std::string("nothing");
    };
    return "both tokenizers split it alike (" + std::to_string(first.length) + " tokens); they pad with '" +
           pad(first) + "' and '" + pad(second) + "'";
}

} // namespace attnscope
