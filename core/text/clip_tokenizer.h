#pragma once
// CLIP's byte-level BPE tokenizer as Stable Diffusion v1/v2 run it through diffusers: the same ids as
// transformers' Rust-backed CLIP tokenizer (CLIPTokenizer in transformers 5, CLIPTokenizerFast in 4.x)
// for prompts padded to 77 tokens.
// No LibTorch here: light tools and the tests use it on its own.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope {

struct ClipTokenizerOptions {
    // What fills the sequence after <|endoftext|>: SD v1 folders pad with "<|endoftext|>" (49407), SD v2
    // folders (OpenCLIP's convention) with "!" (id 0).
    std::string pad_token = "<|endoftext|>";
    // transformers registers the pad token as a special token that is never merged with its
    // neighbours, so with "!" every '!' in a prompt becomes id 0 on its own ("wow!!" gives wow, !, !
    // instead of wow, !!). true reproduces diffusers' SD v2 pipelines; false treats '!' like any other
    // punctuation, as OpenCLIP's own tokenizer does (its other differences, such as ftfy, are not
    // modelled).
    bool pad_token_is_special = true;

    static ClipTokenizerOptions sd_v1();
    static ClipTokenizerOptions sd_v2();
    // The pad token a model folder declares in tokenizer/special_tokens_map.json or
    // tokenizer/tokenizer_config.json (SD v1 when neither names one). Throws std::runtime_error naming
    // the file when it is there but unreadable.
    static ClipTokenizerOptions from_folder(const std::filesystem::path& folder);
};

// One prompt, ready for the text encoder: every per-position vector has kContextLength entries.
struct ClipEncoding {
    std::vector<std::int64_t> ids;    // the text encoder's input_ids (int64, as torch wants them)
    std::vector<std::string> tokens;  // vocab.json's string for each id, e.g. "cat</w>", "<|endoftext|>"
    std::vector<std::string> display; // readable text of each token: "</w>" dropped, bytes back to UTF-8
    std::vector<int> word_index;      // the word (index into `words`) each token belongs to; -1 for
                                      // the added <|startoftext|>, <|endoftext|> and the padding
    std::vector<std::string> words;   // every word of the prompt, normalized, truncated ones included
    int length = 0;                   // positions before the padding: start + prompt tokens + end
    bool truncated = false;           // the prompt had more than kContextLength - 2 tokens
    int dropped_tokens = 0;           // prompt tokens that did not fit
};

class ClipTokenizer {
  public:
    static constexpr int kContextLength = 77;

    // `folder` holds vocab.json and merges.txt, or is a diffusers model folder with them under
    // tokenizer/. Throws std::runtime_error naming the missing or malformed file.
    explicit ClipTokenizer(const std::filesystem::path& folder, ClipTokenizerOptions options = {});
    ~ClipTokenizer();
    ClipTokenizer(ClipTokenizer&&) noexcept;
    ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
    ClipTokenizer(const ClipTokenizer&) = delete;
    ClipTokenizer& operator=(const ClipTokenizer&) = delete;

    // <|startoftext|> + at most 75 prompt tokens + <|endoftext|> + padding. Throws std::invalid_argument
    // with the byte offset when `utf8` is not valid UTF-8. Thread-safe.
    ClipEncoding encode(std::string_view utf8) const;
    // The prompt's BPE ids alone: no start/end token, no truncation, no padding.
    std::vector<std::int64_t> tokenize(std::string_view utf8) const;
    // The words BPE runs on, after NFC, whitespace folding, lower-casing and CLIP's split pattern.
    std::vector<std::string> split_words(std::string_view utf8) const;

    std::int64_t start_id() const;
    std::int64_t end_id() const;
    std::int64_t pad_id() const;
    std::size_t vocab_size() const;
    // vocab.json's string for `id`; throws std::out_of_range for an id the vocabulary lacks.
    const std::string& token_text(std::int64_t id) const;
    // The id of a vocab.json string; throws std::out_of_range when it is not there.
    std::int64_t token_id(std::string_view token) const;
    // "cat</w>" -> "cat", "Ã©</w>" -> "é"; bytes that do not form whole characters come out as U+FFFD.
    static std::string display_text(std::string_view vocab_token);

    const std::filesystem::path& vocab_file() const;
    const ClipTokenizerOptions& options() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace attnscope
