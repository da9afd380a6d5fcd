#pragma once
// The grammar of the captions a model was trained on, as attnscope's tiny models declare it in
// model_index.json ("attnscope": {"prompt_grammar": ...}): what the prompt box's examples and random captions
// are drawn from, and the words such a model knows.
//
// Notation (EBNF-like, one line):
//   grammar      := rule (";" rule)*          the first rule is the caption; "NAME =" is optional there only
//   rule         := [NAME "="] alternatives
//   alternatives := sequence ("|" sequence)*  "|" binds loosest: "left of|above" is "left of" or "above"
//   sequence     := item+
//   item         := WORD | NAME | "[" alternatives "]" (optional) | "(" alternatives ")" (a group)
// A NAME is capital letters, digits and '_' (starting with a letter) and refers to the rule of that name;
// any other run of characters without spaces or the signs above is a WORD, in lower case (prompts are
// compared after the tokenizer lower-cases them). Rules may not refer to themselves, directly or through
// others: every grammar describes finitely many captions.
// e.g. "PHRASE [RELATION PHRASE] on a BACKGROUND background; RELATION = left of|above; ..."
// No LibTorch here: light tools and the tests use it on its own.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace attnscope {

class PromptGrammar {
  public:
    // Throws std::invalid_argument naming what is wrong and the character position where it is.
    static PromptGrammar parse(std::string_view text);
    ~PromptGrammar();
    PromptGrammar(PromptGrammar&&) noexcept;
    PromptGrammar& operator=(PromptGrammar&&) noexcept;
    PromptGrammar(const PromptGrammar&) = delete;
    PromptGrammar& operator=(const PromptGrammar&) = delete;

    // Every WORD of the grammar, once each, sorted.
    const std::vector<std::string>& words() const;
    bool knows(std::string_view word) const;
    // Whether the words (as ClipTokenizer::split_words gives them) are a caption of the grammar.
    bool accepts(const std::vector<std::string>& words) const;
    // A caption drawn from the grammar, a pure function of `seed` (its own splitmix64, so every machine
    // draws the same): each alternative and each optional part equally likely, except that a word list (a
    // rule whose alternatives are single words, such as COLOR) never gives a word the caption already has
    // while it has others to give, as the tiny model's scenes never repeat a colour. Words joined by spaces.
    std::string sample(std::uint64_t seed) const;

  private:
    struct Impl;
    explicit PromptGrammar(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace attnscope
