// The prompt grammar a model declares (core/text/prompt_grammar.h) and what the prompt box and the warnings
// make of it (core/text/prompt_guide.h), on the embedded model's own files.
#include "scratch_dir.h"
#include "text/clip_tokenizer.h"
#include "text/prompt_guide.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace attnscope {
namespace {

namespace fs = std::filesystem;

const fs::path kTinyModel = fs::path(ATTNSCOPE_ASSETS_SOURCE) / "tiny-sd";

const PromptGuide& embedded() {
    static const PromptGuide guide = *read_prompt_guide(kTinyModel, "the embedded model");
    return guide;
}

const ClipTokenizer& tiny_tokenizer() {
    static const ClipTokenizer tokenizer(kTinyModel);
    return tokenizer;
}

std::vector<std::string> split(const std::string& caption) {
    return tiny_tokenizer().split_words(caption);
}

TEST(PromptGrammar, TheEmbeddedModelKnowsItsCaptionsWordsAndNoOthers) {
    const auto& words = embedded().grammar.words();
    EXPECT_TRUE(std::is_sorted(words.begin(), words.end()));
    for (const char* w : {"a", "two", "small", "red", "white", "gray", "circle", "stars", "left", "of",
                          "below", "on", "background"})
        EXPECT_TRUE(embedded().grammar.knows(w)) << w;
    // Rule names and the notation's signs are not words.
    for (const char* w : {"cat", "PHRASE", "COLOR", "SHAPES", "|", "[", "circless", ""})
        EXPECT_FALSE(embedded().grammar.knows(w)) << w;
    // Each of them one token of the model's vocabulary, as the trainer's merges make them.
    for (const auto& w : words) EXPECT_EQ(tiny_tokenizer().tokenize(w).size(), 1u) << w;
}

TEST(PromptGrammar, AcceptsTheModelsCaptionsAndNothingElse) {
    const auto& g = embedded().grammar;
    for (const char* caption :
         {"a red circle on a black background", "a red circle left of a big blue square on a gray background",
          "two small yellow stars below a pink triangle on a white background",
          "three green squares right of two small purple circles on a brown background"})
        EXPECT_TRUE(g.accepts(split(caption))) << caption;
    for (const char* caption :
         {"", "a red circle", "a red circles on a black background", "two red circle on a black background",
          "three big red circles on a black background", // groups are never big
          "a red circle left of on a gray background",
          "a red circle left a blue square on "
          "a gray background",
          "a red circle on a red background", // red is no background colour
          "a red circle on a black background background"})
        EXPECT_FALSE(g.accepts(split(caption))) << caption;
}

// The prompt box's examples and random captions: sentences of the grammar made only of words the model
// knows, each a single token; seeded, so the same every time, and varied.
TEST(PromptGrammar, EveryGeneratedCaptionParsesAndTokenizesIntoKnownWords) {
    const auto& guide = embedded();
    std::set<std::string> captions;
    std::map<std::string, int> seen;
    for (std::uint64_t n = 0; n < 400; ++n) {
        const auto caption = guide.random_caption(n);
        EXPECT_EQ(caption, guide.random_caption(n));
        const auto words = split(caption);
        EXPECT_TRUE(guide.grammar.accepts(words)) << caption;
        EXPECT_TRUE(guide.unknown_words(tiny_tokenizer().encode(caption).words).empty()) << caption;
        EXPECT_EQ(tiny_tokenizer().tokenize(caption).size(), words.size()) << caption;
        // A word list never repeats a word: no colour is said twice ("white" is an object and a background
        // colour).
        for (const char* colour : {"red", "blue", "white", "pink"})
            EXPECT_LE(std::count(words.begin(), words.end(), colour), 1) << caption;
        captions.insert(caption);
        for (const char* w : {"left", "right", "above", "below", "two", "three", "small", "big", "circles"})
            seen[w] += std::count(words.begin(), words.end(), w) > 0;
    }
    EXPECT_GT(captions.size(), 300u); // single-phrase captions are few enough to recur
    for (const auto& [w, n] : seen) EXPECT_GT(n, 10) << w;

    const auto menu = guide.examples();
    ASSERT_EQ(menu.size(), static_cast<std::size_t>(PromptGuide::kExamples));
    EXPECT_EQ(menu.front(), "a red circle left of a big blue square on a gray background");
    for (const auto& caption : menu) EXPECT_TRUE(guide.grammar.accepts(split(caption))) << caption;
    EXPECT_EQ(menu[1], guide.grammar.sample(1));
    EXPECT_EQ(guide.random_caption(0), guide.grammar.sample(PromptGuide::kExamples));
}

TEST(PromptGuide, FindsTheWordsTheModelDoesNotKnow) {
    const auto unknown = [](const std::string& prompt) {
        return embedded().unknown_words(tiny_tokenizer().encode(prompt).words);
    };
    using Words = std::vector<std::string>;
    EXPECT_EQ(unknown("a red circle on a black background"), Words{});
    // Upper case and extra spaces are the tokenizer's business, not unknown words.
    EXPECT_EQ(unknown("A  RED circle On a black   background"), Words{});
    // Each once, in the prompt's order; punctuation is a word of its own, and the model has seen none.
    EXPECT_EQ(unknown("a cat, a dog and a cat on a red background"), (Words{"cat", ",", "dog", "and"}));
    // "x" is one token (every byte is) but no caption has it: still unknown.
    EXPECT_EQ(tiny_tokenizer().tokenize("x").size(), 1u);
    EXPECT_EQ(unknown("a red x"), Words{"x"});
    // A word the grammar has, in a sentence it does not make, is known: the grammar's words are the rule.
    EXPECT_EQ(unknown("background red a"), Words{});
}

TEST(PromptGuide, ExplainsUnknownWordsInOneLine) {
    const std::string known = "the embedded model's vocabulary; it knows: a, above, background, below, big, "
                              "black, blue, brown, circle, circles, gray, green, left, of, on, orange, pink, "
                              "purple, red, right, small, square, squares, star, stars, three, triangle, "
                              "triangles, two, white, yellow";
    EXPECT_EQ(embedded().unknown_words_line({"cat"}), "'cat' is not in " + known);
    EXPECT_EQ(embedded().unknown_words_line({"cat", "dog"}), "'cat' and 'dog' are not in " + known);
    EXPECT_EQ(embedded().unknown_words_line({"cat", ",", "dog"}), "'cat', ',' and 'dog' are not in " + known);
}

TEST(PromptGuide, ModelsWithoutAGrammarHaveNoGuide) {
    EXPECT_FALSE(read_prompt_guide(fs::path(ATTNSCOPE_TEST_DATA) / "pipeline_v1_small", "the model"));
    EXPECT_FALSE(read_prompt_guide(fs::path(ATTNSCOPE_TEST_DATA) / "unet_v1_small_ldm.safetensors", "x"));
    ScratchDir dir;
    dir.write("model_index.json", R"({"_class_name": "StableDiffusionPipeline", "attnscope": {}})");
    EXPECT_FALSE(read_prompt_guide(dir.path(), "the model"));
}

TEST(PromptGuide, AMalformedDeclarationNamesTheFileAndTheFault) {
    const auto error = [](const std::string& json) {
        ScratchDir dir;
        dir.write("model_index.json", json);
        return error_of([&] { read_prompt_guide(dir.path(), "the model"); });
    };
    const std::string grammar = R"("prompt_grammar": "a COLOR circle; COLOR = red|blue")";
    EXPECT_NE(error(R"({"attnscope": {)" + grammar + R"(, "example_prompt": "a green circle"}})")
                  .find("model_index.json: the example prompt \"a green circle\" is not a caption of the "
                        "prompt grammar"),
              std::string::npos);
    EXPECT_NE(error(R"({"attnscope": {)" + grammar + "}}")
                  .find(R"(model_index.json: "attnscope".example_prompt must be a string)"),
              std::string::npos);
    EXPECT_NE(error(R"({"attnscope": {"prompt_grammar": "a [red", "example_prompt": "a"}})")
                  .find("model_index.json: prompt grammar, character 7: expected ']' to close the one at "
                        "character 3"),
              std::string::npos);
    EXPECT_NE(error("{").find("model_index.json: is not valid JSON"), std::string::npos);
    for (const char* bad : {R"("high")", "-1", "null"})
        EXPECT_NE(error(R"({"attnscope": {)" + grammar +
                        R"(, "example_prompt": "a red circle", "guidance_scale": )" + bad + "}}")
                      .find(R"(model_index.json: "attnscope".guidance_scale must be a number >= 0)"),
                  std::string::npos)
            << bad;
    // A good one reads, named as asked.
    ScratchDir dir;
    dir.write("model_index.json", R"({"attnscope": {)" + grammar + R"(, "example_prompt": "a red circle"}})");
    const auto guide = read_prompt_guide(dir.path(), "the model");
    ASSERT_TRUE(guide);
    EXPECT_EQ(guide->unknown_words_line({"green"}),
              "'green' is not in the model's vocabulary; it knows: a, blue, "
              "circle, red");
    EXPECT_FALSE(guide->guidance_scale);
    dir.write("model_index.json", R"({"attnscope": {)" + grammar +
                                      R"(, "example_prompt": "a red circle", "guidance_scale": 5.5}})");
    EXPECT_EQ(read_prompt_guide(dir.path(), "the model")->guidance_scale, 5.5);
}

// The embedded model's held-out images are scored at guidance 4 (docs/tiny-model.md: 20 of 32 recognisable
// there, 15 at SD's usual 7.5), so its folder says so and generations take it.
TEST(PromptGuide, TheEmbeddedModelDeclaresTheGuidanceItIsScoredAt) {
    EXPECT_EQ(embedded().guidance_scale, 4.0);
}

TEST(PromptGrammar, NotationPrecedenceAndGroups) {
    const auto g = PromptGrammar::parse("(left of|above) THING | nothing; THING = [big] box");
    for (const auto& [caption, ok] : std::vector<std::pair<std::string, bool>>{{"left of box", true},
                                                                               {"above big box", true},
                                                                               {"nothing", true},
                                                                               {"left of", false},
                                                                               {"of box", false},
                                                                               {"nothing box", false}})
        EXPECT_EQ(g.accepts(split(caption)), ok) << caption;
    EXPECT_EQ(g.words(), (std::vector<std::string>{"above", "big", "box", "left", "nothing", "of"}));
    // A named first rule is the caption as well.
    EXPECT_TRUE(PromptGrammar::parse("CAPTION = hi").accepts({"hi"}));
}

// Each mistake named with where it is, so whoever writes a model's grammar can fix it.
TEST(PromptGrammar, MalformedGrammarsAreRefusedWithTheirPosition) {
    const auto error = [](const std::string& text) { return error_of([&] { PromptGrammar::parse(text); }); };
    EXPECT_EQ(error(""),
              "prompt grammar, character 1: expected a word, a NAME, '[' or '(' (an alternative is "
              "empty)");
    EXPECT_EQ(error("a || b"), "prompt grammar, character 4: expected a word, a NAME, '[' or '(' (an "
                               "alternative is empty)");
    EXPECT_EQ(error("a (b|c"), "prompt grammar, character 7: expected ')' to close the one at character 3");
    EXPECT_EQ(error("a b]"), "prompt grammar, character 4: expected ';' or the end");
    // The notation the asset had before issue 20: "SHAPEs" is neither a word nor a NAME.
    EXPECT_EQ(error("a SHAPEs; SHAPE = circle"),
              "prompt grammar, character 3: 'SHAPEs' mixes cases: a word is in lower case, a rule's NAME in "
              "capitals");
    EXPECT_EQ(error("a COLOR"), "prompt grammar, character 3: no rule defines COLOR");
    EXPECT_EQ(error("a C; C = red; C = blue"), "prompt grammar, character 15: rule C is defined twice");
    EXPECT_EQ(error("a b; c"), "prompt grammar, character 6: every rule after the first is NAME = ...");
    EXPECT_EQ(error("A; A = a B; B = b A"), "prompt grammar, character 4: rule A refers to itself through B");
    EXPECT_EQ(error("A; A = a [A]"), "prompt grammar, character 4: rule A refers to itself");
    EXPECT_EQ(error("a; UNUSED = b"), "prompt grammar, character 4: rule UNUSED is never used");
}

// A model's file is not trusted to be small: what it can make the parser, the matcher and the sampler do is
// bounded.
TEST(PromptGrammar, GrammarsStayWithinBounds) {
    const auto error = [](const std::string& text) { return error_of([&] { PromptGrammar::parse(text); }); };
    // 2^6 words: more than CLIP's context holds.
    EXPECT_EQ(
        error("B B; B = C C; C = D D; D = E E; E = F F; F = G G; G = x x"),
        "prompt grammar, character 1: a caption can have more than 75 words, more than CLIP's 77 tokens "
        "hold");
    EXPECT_EQ(error(std::string(40, '[') + "a" + std::string(40, ']')),
              "prompt grammar, character 33: brackets nested more than 32 deep");
    std::string chain = "R0";
    for (int i = 0; i < 40; ++i) chain += "; R" + std::to_string(i) + " = R" + std::to_string(i + 1);
    EXPECT_NE(error(chain + "; R40 = y").find("rules reached through more than 32 others"),
              std::string::npos);
    // 2^30 ways to one word: matched once per rule and position, not once per way.
    std::string ways = "A0";
    for (int i = 0; i < 30; ++i)
        ways += "; A" + std::to_string(i) + " = A" + std::to_string(i + 1) + " | A" + std::to_string(i + 1);
    const auto g = PromptGrammar::parse(ways + "; A30 = y");
    EXPECT_TRUE(g.accepts({"y"}));
    EXPECT_FALSE(g.accepts({"y", "y"}));
    EXPECT_EQ(g.sample(5), "y");
}

} // namespace
} // namespace attnscope
