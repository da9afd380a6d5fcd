// libFuzzer target for what a model folder's model_index.json declares to attnscope
// (core/text/prompt_guide.cpp: its prompt grammar, example prompt and guidance scale): any bytes as the file
// either give no guide (no declaration), a guide whose examples are captions of its grammar and whose
// guidance is a number >= 0, or are refused with std::runtime_error naming the file. Built and run by
// tools/fuzz.sh.
#include "scratch_folder.h"
#include "text/prompt_guide.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    fuzz::write_scratch_file("model_index.json", std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const auto guide = read_prompt_guide(fuzz::scratch_folder(), "the model");
        if (!guide) return 0;
        if (guide->guidance_scale && !(std::isfinite(*guide->guidance_scale) && *guide->guidance_scale >= 0))
            __builtin_trap();
        auto captions = guide->examples();
        captions.push_back(guide->random_caption(0));
        for (const auto& caption : captions) {
            std::vector<std::string> words;
            std::istringstream in(caption);
            for (std::string w; in >> w;) words.push_back(w);
            if (!guide->grammar.accepts(words) || !guide->unknown_words(words).empty()) __builtin_trap();
        }
        (void)guide->unknown_words_line({"cat"});
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find("model_index.json") == std::string::npos) __builtin_trap();
    }
    return 0;
}
