// Writes the tiny model's tokenizer: vocab.json and merges.txt for every word of the scene grammar.
//   make_tiny_vocab OUT_DIR        (assets/tiny-sd/tokenizer)
#include "scenes.h"
#include "vocab.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace {

void write_file(const std::filesystem::path& path, const std::string& text) {
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out << text;
        if (!out) throw std::runtime_error(tmp + ": cannot be written");
    }
    std::filesystem::rename(tmp, path);
}

} // namespace

int main(int argc, char** argv) try {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_tiny_vocab OUT_DIR\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    const auto vocab = attnscope::tiny::build_vocabulary(attnscope::tiny::grammar_words());
    write_file(dir / "vocab.json", vocab.vocab_json() + "\n");
    write_file(dir / "merges.txt", vocab.merges_txt());
    write_file(dir / "special_tokens_map.json",
               "{\"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|endoftext|>\", "
               "\"unk_token\": \"<|endoftext|>\", \"pad_token\": \"<|endoftext|>\"}\n");
    std::printf("%s: %zu tokens, %zu merges\n", dir.string().c_str(), vocab.tokens.size(),
                vocab.merges.size());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_vocab: %s\n", e.what());
    return 1;
}
