// libFuzzer target for the CLIP tokenizer's own files (core/text/clip_tokenizer.cpp): a user's tokenizer/
// folder, whatever its bytes, either loads and encodes prompts into 77 ids of its vocabulary, or is refused
// with std::runtime_error naming the file. The input is the folder: vocab.json, merges.txt and
// special_tokens_map.json, separated by NUL bytes (which none of them may hold), written into a scratch
// folder of this process before each run. Built and run by tools/fuzz.sh.
#include "scratch_folder.h"
#include "text/clip_tokenizer.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using attnscope::fuzz::scratch_folder;

// Writes the input's parts as the folder's files; a file with no part is absent.
void write_folder(std::string_view input) {
    bool more = true;
    for (const char* name : {"vocab.json", "merges.txt", "special_tokens_map.json"}) {
        if (!more) {
            std::filesystem::remove(scratch_folder() / name);
            continue;
        }
        const auto cut = input.find('\0');
        attnscope::fuzz::write_scratch_file(name, input.substr(0, cut));
        more = cut != std::string_view::npos;
        input = more ? input.substr(cut + 1) : std::string_view();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using attnscope::ClipTokenizer;
    using attnscope::ClipTokenizerOptions;
    write_folder(std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const ClipTokenizer tokenizer(scratch_folder(), ClipTokenizerOptions::from_folder(scratch_folder()));
        for (const char* prompt : {"a red circle left of a blue square", "wow!! caf\xc3\xa9, 1984", ""}) {
            const auto e = tokenizer.encode(prompt);
            if (e.ids.size() != ClipTokenizer::kContextLength || e.ids.front() != tokenizer.start_id())
                __builtin_trap();
            for (const auto id : e.ids) (void)tokenizer.token_text(id); // std::out_of_range: not ours
        }
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find(scratch_folder().string()) == std::string::npos) __builtin_trap();
    }
    return 0;
}
