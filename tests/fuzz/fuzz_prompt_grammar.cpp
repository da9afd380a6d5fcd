// libFuzzer target for the prompt grammar a model's model_index.json declares (core/text/prompt_grammar.cpp):
// any bytes either parse or are refused with std::invalid_argument naming a character position; a grammar
// that parses samples captions it accepts, made of its own words, within CLIP's 75 words. Built and run by
// tools/fuzz.sh.
#include "text/prompt_grammar.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto grammar = attnscope::PromptGrammar::parse(text);
        for (std::uint64_t seed = 0; seed < 4; ++seed) {
            const auto caption = grammar.sample(seed);
            std::vector<std::string> words;
            for (std::size_t i = 0; !caption.empty() && i <= caption.size();) {
                const auto end = std::min(caption.find(' ', i), caption.size());
                words.push_back(caption.substr(i, end - i));
                i = end + 1;
            }
            if (words.size() > 75 || !grammar.accepts(words)) __builtin_trap();
            for (const auto& w : words)
                if (!grammar.knows(w)) __builtin_trap();
        }
    } catch (const std::invalid_argument& e) {
        if (std::string(e.what()).rfind("prompt grammar, character ", 0) != 0) __builtin_trap();
    }
    return 0;
}
