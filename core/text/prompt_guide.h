#pragma once
// What a model says about the prompts it understands, for people new to it: attnscope's tiny models declare
// the grammar of their training captions and an example in model_index.json, under "attnscope"
// ("prompt_grammar", "example_prompt"). From them come the prompt box's examples and random captions, and
// the warning for a word the model does not know. Such a model may also name the guidance scale its images
// were checked at ("guidance_scale"): a generation takes it unless told otherwise.
//
// A word is unknown when it is not one of the grammar's words, compared as the tokenizer splits and
// normalizes the prompt (lower case, punctuation apart: ClipEncoding::words). Such a model has seen no other
// word in training, whether BPE splits it into letters ("cat") or happens to have it as one token ("x",
// every byte is one).
// No LibTorch here: light tools and the tests use it on its own.
#include "prompt_grammar.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

struct PromptGuide {
    PromptGrammar grammar;
    std::string example;                  // the model's own example prompt
    std::string model_name;               // how the warning names the model: "the embedded model"
    std::optional<double> guidance_scale; // the classifier-free guidance the model's images are made at

    static constexpr int kExamples = 8;

    // The prompt box's menu: the model's example, then the grammar's captions of seeds 1 .. kExamples - 1.
    std::vector<std::string> examples() const;
    // The random caption button's n-th press (from 0): the caption of seed kExamples + n, going on from the
    // menu's seeds, so the presses of every run give the same captions.
    std::string random_caption(std::uint64_t n) const;
    // The prompt's words (ClipEncoding::words) the model does not know, each once, in the prompt's order.
    std::vector<std::string> unknown_words(const std::vector<std::string>& words) const;
    // One line for unknown words (at least one): "'cat' is not in the embedded model's vocabulary; it knows:
    // a, above, background, ...", or "'cat' and 'dog' are not in ...".
    std::string unknown_words_line(const std::vector<std::string>& words) const;
};

// The guide a model folder's model_index.json declares, or nullopt where it declares no prompt grammar (SD
// models; a single-file checkpoint). `model_name` as PromptGuide keeps it. Throws std::runtime_error naming
// model_index.json when it is unreadable or its grammar or example is malformed.
std::optional<PromptGuide> read_prompt_guide(const std::filesystem::path& model, std::string model_name);

} // namespace attnscope
