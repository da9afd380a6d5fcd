// libFuzzer target for the CLIP tokenizer (core/text/clip_tokenizer.cpp): any bytes as a prompt either encode
// into 77 ids that start with <|startoftext|> and hold an <|endoftext|>, or are rejected with
// std::invalid_argument naming the byte offset of the bad UTF-8. The vocabulary (assets/clip-tokenizer) is
// loaded once. Built and run by tools/fuzz.sh.
#include "text/clip_tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using attnscope::ClipTokenizer;
    static const ClipTokenizer tokenizer(ATTNSCOPE_FUZZ_TOKENIZER);
    const std::string_view prompt(reinterpret_cast<const char*>(data), size);
    try {
        const auto e = tokenizer.encode(prompt);
        if (e.ids.size() != ClipTokenizer::kContextLength || e.ids.front() != tokenizer.start_id() ||
            std::find(e.ids.begin(), e.ids.end(), tokenizer.end_id()) == e.ids.end() ||
            e.tokens.size() != e.ids.size() || e.display.size() != e.ids.size() || e.length < 2 ||
            e.length > ClipTokenizer::kContextLength)
            __builtin_trap();
        for (const auto id : e.ids)
            if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) __builtin_trap();
        const auto ids = tokenizer.tokenize(prompt);
        if (e.truncated != (ids.size() > ClipTokenizer::kContextLength - 2)) __builtin_trap();
    } catch (const std::invalid_argument& e) {
        if (std::string(e.what()).find("not valid UTF-8 at byte offset") == std::string::npos)
            __builtin_trap();
    }
    return 0;
}
