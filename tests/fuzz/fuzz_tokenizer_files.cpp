// libFuzzer target for the CLIP tokenizer's own files (core/text/clip_tokenizer.cpp): a user's tokenizer/
// folder, whatever its bytes, either loads and encodes prompts into 77 ids of its vocabulary, or is refused
// with std::runtime_error naming the file. The input is the folder: vocab.json, merges.txt and
// special_tokens_map.json, separated by NUL bytes (which none of them may hold), written into a scratch
// folder of this process before each run. Built and run by tools/fuzz.sh.
#include "text/clip_tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
    static const fs::path dir = [] {
        std::string name = (fs::temp_directory_path() / "attnscope-fuzz-tokenizer-XXXXXX").string();
        if (!mkdtemp(name.data())) std::abort();
        return fs::path(name);
    }();
    return dir;
}

// Writes the input's parts as the folder's files; a file with no part is absent.
void write_folder(std::string_view input) {
    const char* names[] = {"vocab.json", "merges.txt", "special_tokens_map.json"};
    for (const char* name : names) {
        const auto path = scratch() / name;
        if (input.data() == nullptr) {
            fs::remove(path);
            continue;
        }
        const auto cut = input.find('\0');
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            .write(input.data(), static_cast<std::streamsize>(std::min(cut, input.size())));
        input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using attnscope::ClipTokenizer;
    using attnscope::ClipTokenizerOptions;
    write_folder(std::string_view(reinterpret_cast<const char*>(data), size));
    try {
        const ClipTokenizer tokenizer(scratch(), ClipTokenizerOptions::from_folder(scratch()));
        for (const char* prompt : {"a red circle left of a blue square", "wow!! caf\xc3\xa9, 1984", ""}) {
            const auto e = tokenizer.encode(prompt);
            if (e.ids.size() != ClipTokenizer::kContextLength || e.ids.front() != tokenizer.start_id())
                __builtin_trap();
            for (const auto id : e.ids) (void)tokenizer.token_text(id); // std::out_of_range: not ours
        }
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find(scratch().string()) == std::string::npos) __builtin_trap();
    }
    return 0;
}
