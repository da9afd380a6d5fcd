#include "scratch_dir.h"
#include "text/clip_tokenizer.h"
#include "text/tokenizer_pair.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// Expected ids were read off the real vocab.json / merges.txt (grep for the token, its merges' ranks)
// and cross-checked with a Python model of the `tokenizers` pipeline behind transformers' Rust-backed
// CLIPTokenizer (the model reproduces tokenizer_reference.json); they are not taken from memory.

namespace attnscope {
namespace {

namespace fs = std::filesystem;

const fs::path kVocabDir = fs::path(ATTNSCOPE_ASSETS_SOURCE) / "clip-tokenizer";
constexpr std::int64_t kStart = 49406, kEnd = 49407;

// One tokenizer per padding style for the whole suite: loading the 49408-entry vocabulary is the slow part.
const ClipTokenizer& v1() {
    static const ClipTokenizer tokenizer(kVocabDir, ClipTokenizerOptions::sd_v1());
    return tokenizer;
}
const ClipTokenizer& v2() {
    static const ClipTokenizer tokenizer(kVocabDir, ClipTokenizerOptions::sd_v2());
    return tokenizer;
}

std::vector<std::int64_t> padded(std::vector<std::int64_t> ids, std::int64_t pad) {
    ids.resize(ClipTokenizer::kContextLength, pad);
    return ids;
}

// A tokenizer small enough to reason about: bytes a, b, c plus merges "b c</w>" (rank 0), "a b"
// (rank 1) and "a bc</w>" (rank 2).
const char* kTinyVocab = R"({"a": 0, "b": 1, "c": 2, "a</w>": 3, "b</w>": 4, "c</w>": 5, "bc</w>": 6, "ab": 7,
  "abc</w>": 8, "!": 9, "<|startoftext|>": 10, "<|endoftext|>": 11})";
const char* kTinyMerges = "#version: 0.2\nb c</w>\na b\na bc</w>\n";

// ---------------------------------------------------------------------------------------------------

// SDXL's two tokenizers (SD v1's padding and SD v2's) split a prompt alike; where two tokenizations differ,
// the line names the positions.
TEST(TokenizerPair, SaysWhetherSdxlsTwoTokenizationsAgree) {
    const auto a = v1().encode("a red circle"), b = v2().encode("a red circle");
    EXPECT_EQ(compare_tokenizations(a, b),
              "both tokenizers split it alike (5 tokens); they pad with '<|endoftext|>' and '!'");
    auto other = b;
    other.tokens[2] = "blue</w>";
    other.tokens[3] = "square</w>";
    EXPECT_EQ(compare_tokenizations(a, other), "the tokenizers differ at position 2 ('red</w>' / "
                                               "'blue</w>'), position 3 ('circle</w>' / 'square</w>')");
}

TEST(ClipTokenizer, LoadsTheRealVocabulary) {
    EXPECT_EQ(v1().vocab_size(), 49408u);
    EXPECT_EQ(v1().start_id(), kStart);
    EXPECT_EQ(v1().end_id(), kEnd);
    EXPECT_EQ(v1().pad_id(), kEnd);
    EXPECT_EQ(v2().pad_id(), 0);
    EXPECT_EQ(v1().token_text(2368), "cat</w>");
    EXPECT_EQ(v1().token_id("photo</w>"), 1125);
    EXPECT_THROW(v1().token_text(49408), std::out_of_range);
    EXPECT_THROW(v1().token_id("no such token"), std::out_of_range);
}

TEST(ClipTokenizer, PhotoOfACat) {
    const ClipEncoding e = v1().encode("a photo of a cat");
    EXPECT_EQ(e.ids, padded({kStart, 320, 1125, 539, 320, 2368, kEnd}, kEnd));
    EXPECT_EQ(e.length, 7);
    EXPECT_FALSE(e.truncated);
    EXPECT_EQ(e.dropped_tokens, 0);
    EXPECT_EQ(e.words, (std::vector<std::string>{"a", "photo", "of", "a", "cat"}));
    ASSERT_EQ(e.tokens.size(), 77u);
    ASSERT_EQ(e.display.size(), 77u);
    ASSERT_EQ(e.word_index.size(), 77u);
    EXPECT_EQ(e.tokens[0], "<|startoftext|>");
    EXPECT_EQ(e.tokens[2], "photo</w>");
    EXPECT_EQ(e.display[2], "photo");
    EXPECT_EQ(e.tokens[6], "<|endoftext|>");
    EXPECT_EQ(std::vector<int>(e.word_index.begin(), e.word_index.begin() + 8),
              (std::vector<int>{-1, 0, 1, 2, 3, 4, -1, -1}));
    EXPECT_EQ(e.word_index.back(), -1);
    EXPECT_EQ(v1().tokenize("a photo of a cat"), (std::vector<std::int64_t>{320, 1125, 539, 320, 2368}));
}

TEST(ClipTokenizer, CaseAndWhitespaceNormalizeAway) {
    const auto reference = v1().encode("a photo of a cat").ids;
    for (const char* prompt :
         {"A PHOTO OF A CAT", "  a   photo\tof\n a  Cat  ", "a\r\nphoto\u3000of\u00a0a cat",
          "a photo\u2028of a cat", "a\u0085photo \u2009of\u205fa cat"})
        EXPECT_EQ(v1().encode(prompt).ids, reference) << prompt;
}

TEST(ClipTokenizer, EmptyAndBlankPrompts) {
    for (const char* prompt : {"", "   ", "\t\n", "\u3000\u2029\u0085\v\f"}) {
        const ClipEncoding e = v1().encode(prompt);
        EXPECT_EQ(e.ids, padded({kStart, kEnd}, kEnd)) << prompt;
        EXPECT_EQ(e.length, 2);
        EXPECT_TRUE(e.words.empty());
    }
}

TEST(ClipTokenizer, RareWordsSplitIntoSubwordsOfOneWord) {
    const ClipEncoding e = v1().encode("xylophonist playing");
    // xy (20023) lo (549) ph (745) onist</w> (10099), then playing</w>.
    EXPECT_EQ(std::vector<std::int64_t>(e.ids.begin() + 1, e.ids.begin() + 5),
              (std::vector<std::int64_t>{20023, 549, 745, 10099}));
    EXPECT_EQ(e.words, (std::vector<std::string>{"xylophonist", "playing"}));
    EXPECT_EQ(std::vector<int>(e.word_index.begin(), e.word_index.begin() + 7),
              (std::vector<int>{-1, 0, 0, 0, 0, 1, -1}));
    std::string rebuilt;
    for (std::size_t i = 0; i < e.ids.size(); ++i)
        if (e.word_index[i] == 0) rebuilt += e.display[i];
    EXPECT_EQ(rebuilt, "xylophonist");

    EXPECT_EQ(v1().tokenize("photorealistic"),
              (std::vector<std::int64_t>{1153, 16157})); // photo realistic</w>
}

TEST(ClipTokenizer, PunctuationNumbersAndWeights) {
    // ( masterpiece : 1 . 2 ): every digit is its own word, punctuation runs stay together.
    EXPECT_EQ(v1().tokenize("(masterpiece:1.2)"),
              (std::vector<std::int64_t>{263, 12066, 281, 272, 269, 273, 264}));
    EXPECT_EQ(v1().split_words("wow!! 42"), (std::vector<std::string>{"wow", "!!", "4", "2"}));
    EXPECT_EQ(v1().tokenize("wow!! amazing"), (std::vector<std::int64_t>{2781, 748, 1370}));
}

TEST(ClipTokenizer, ContractionsSplitLikeClipsPattern) {
    EXPECT_EQ(v1().split_words("DON'T it's WE'RE should've"),
              (std::vector<std::string>{"don", "'t", "it", "'s", "we", "'re", "should", "'ve"}));
    EXPECT_EQ(v1().tokenize("DON'T it's WE'RE"), (std::vector<std::int64_t>{847, 713, 585, 568, 649, 982}));
}

TEST(ClipTokenizer, AccentsStayAndNfcComposes) {
    // Accents stay (the pipeline has no StripAccents): café is one token.
    EXPECT_EQ(v1().tokenize("café"), (std::vector<std::int64_t>{15304}));
    EXPECT_EQ(v1().tokenize("cafe\u0301"), v1().tokenize("café")); // NFC composes e + U+0301
    EXPECT_EQ(v1().tokenize("r\u00e9sum\u00e9"), (std::vector<std::int64_t>{29106, 7054, 4166}));
    // Singleton decompositions: Angstrom, Kelvin and Ohm signs become letters.
    EXPECT_EQ(v1().split_words("\u212b \u212a \u2126"), (std::vector<std::string>{"å", "k", "ω"}));
    // Conjoining jamo compose to a syllable; A + diaeresis + macron to one letter.
    EXPECT_EQ(v1().split_words("\u1112\u1161\u11ab"), (std::vector<std::string>{"한"}));
    EXPECT_EQ(v1().split_words("A\u0308\u0304"), (std::vector<std::string>{"ǟ"}));
    // Marks are put in canonical order (dot below before dot above) and nothing composes with q.
    EXPECT_EQ(v1().split_words("q\u0307\u0323"), (std::vector<std::string>{"q", "\u0323\u0307"}));
    // A CJK compatibility ideograph becomes its unified twin.
    EXPECT_EQ(v1().split_words("\uf900"), (std::vector<std::string>{"\u8c48"}));
    // A combining mark nothing composes with is neither letter nor number: a word of its own.
    EXPECT_EQ(v1().split_words("a\u0345b"), (std::vector<std::string>{"a", "\u0345", "b"}));
    EXPECT_EQ(v1().tokenize("a\u0345b"), (std::vector<std::int64_t>{320, 137, 483, 321})); // a Í ħ</w> b
}

TEST(ClipTokenizer, LowerCasingIsPerCharacter) {
    // One character at a time, as Rust's char::to_lowercase: no final-sigma rule, every Σ becomes σ.
    EXPECT_EQ(v1().split_words("ΟΔΟΣ ΣΟΦΟΣ Σ"), (std::vector<std::string>{"οδοσ", "σοφοσ", "σ"}));
    EXPECT_EQ(v1().split_words("ΑΣ'Σ"), (std::vector<std::string>{"ασ", "'", "σ"}));
    // Ï ĥ</w> (139, 481): "σ</w>" is no merge. A typed final sigma ς stays ς.
    EXPECT_EQ(v1().tokenize("Σ"), (std::vector<std::int64_t>{139, 481}));
    EXPECT_EQ(v1().split_words("σοφος"), (std::vector<std::string>{"σοφος"}));
    EXPECT_EQ(v1().split_words("МОСКВА Ёжик"), (std::vector<std::string>{"москва", "ёжик"}));
    // U+0130 lowers to i + U+0307, and the combining dot is a word of its own.
    EXPECT_EQ(v1().split_words("İstanbul"), (std::vector<std::string>{"i", "\u0307", "stanbul"}));
    EXPECT_EQ(v1().tokenize("İstanbul"), (std::vector<std::int64_t>{328, 16384, 11231}));
    EXPECT_EQ(v1().split_words("ＡＢＣ Ⅻ"), (std::vector<std::string>{"ａｂｃ", "ⅻ"}));
}

TEST(ClipTokenizer, EmojiCjkAndOtherScriptsEncode) {
    EXPECT_EQ(v1().tokenize("😀"), (std::vector<std::int64_t>{7334}));
    // No spaces go around CJK ideographs: ideographs and kana are all letters, one word.
    EXPECT_EQ(v1().split_words("猫が好き"), (std::vector<std::string>{"猫が好き"}));
    // ç Į « ãģ Į å¥ ½ ãģ į</w>
    EXPECT_EQ(v1().tokenize("猫が好き"),
              (std::vector<std::int64_t>{163, 234, 104, 4813, 234, 29290, 121, 4813, 491}));
    EXPECT_EQ(v1().split_words("猫 が"), (std::vector<std::string>{"猫", "が"}));
    EXPECT_EQ(v1().tokenize("кот"), (std::vector<std::int64_t>{27152, 13506, 141, 480}));
    // ZWJ is kept: like the emoji around it, neither letter, number nor space, so one word.
    EXPECT_EQ(v1().split_words("👩\u200d🚀"), (std::vector<std::string>{"👩\u200d🚀"}));
    EXPECT_EQ(v1().tokenize("👩\u200d🚀"), (std::vector<std::int64_t>{26304, 13542})); // ðŁĳ©âĢį ðŁļĢ</w>
    for (const char* prompt : {"astronaut 👩‍🚀 🇯🇵 👍🏽", "한국어 프롬프트", "Z̤͈̖a̵l̛g̵o",
                               "قطة جميلة", "सुंदर बिल्ली", "𝐛𝐨𝐥𝐝 ℌ𝔢𝔩𝔩𝔬", "a\u0345b"}) {
        const ClipEncoding e = v1().encode(prompt);
        EXPECT_GT(e.length, 2) << prompt;
        for (int i = 0; i < e.length; ++i) EXPECT_FALSE(e.display[i].empty()) << prompt << " @" << i;
    }
    // A token that ends inside a character shows U+FFFD for the partial bytes.
    EXPECT_EQ(ClipTokenizer::display_text("ðŁĺĢ</w>"), "😀");
    EXPECT_EQ(ClipTokenizer::display_text("ðŁ"), "\ufffd");
    EXPECT_EQ(ClipTokenizer::display_text("cafÃ©</w>"), "café");
}

TEST(ClipTokenizer, ControlAndFormatCharactersStay) {
    using namespace std::string_literals;
    // Nothing is dropped: controls, format characters and U+FFFD are words of their own, between letters.
    EXPECT_EQ(v1().split_words("a\0b"s), (std::vector<std::string>{"a", "\0"s, "b"}));
    EXPECT_EQ(v1().tokenize("a\0b"s), (std::vector<std::int64_t>{320, 444, 321})); // a Ā</w> b
    EXPECT_EQ(v1().split_words("c\x01"
                               "at\x7f\ufffd"),
              (std::vector<std::string>{"c", "\x01", "at", "\x7f\ufffd"}));
    // c ā</w> at ġ ï¿½</w>
    EXPECT_EQ(v1().tokenize("c\x01"
                            "at\x7f\ufffd"),
              (std::vector<std::int64_t>{322, 445, 536, 221, 39802}));
    // Soft hyphen and zero-width space are no whitespace (\s is White_Space): ÂŃ</w>, âĢĭ</w>.
    EXPECT_EQ(v1().tokenize("ph\u00adoto c\u200bat"),
              (std::vector<std::int64_t>{2042, 22618, 23399, 322, 9844, 536}));
    // U+001C..U+001F are no White_Space either (Python's str.split() would split on them): Ĝ</w>.
    EXPECT_EQ(v1().tokenize("a\x1c"
                            "b"),
              (std::vector<std::int64_t>{320, 472, 321}));
}

TEST(ClipTokenizer, SpecialTokensInThePrompt) {
    EXPECT_EQ(v1().tokenize("a <|endoftext|> b"), (std::vector<std::int64_t>{320, kEnd, 321}));
    // Cut out of the raw text first, so punctuation before it stays apart ("!" not "!<|").
    EXPECT_EQ(v1().tokenize("!<|endoftext|>"), (std::vector<std::int64_t>{256, kEnd}));
    // Matched case-sensitively before lower-casing: other spellings are ordinary text,
    // < |</w> endof text</w> | ></w>.
    EXPECT_EQ(v1().split_words("<|EndOfText|>"), (std::vector<std::string>{"<|", "endoftext", "|>"}));
    EXPECT_EQ(v1().tokenize("<|EndOfText|>"), (std::vector<std::int64_t>{27, 347, 40786, 4160, 91, 285}));
    const ClipEncoding e = v1().encode("<|startoftext|>cat");
    EXPECT_EQ(std::vector<std::int64_t>(e.ids.begin(), e.ids.begin() + 4),
              (std::vector<std::int64_t>{kStart, kStart, 2368, kEnd}));
    EXPECT_EQ(e.word_index[1], 0);
}

TEST(ClipTokenizer, LongPromptsAreTruncatedTo77) {
    std::string prompt;
    for (int i = 0; i < 100; ++i) prompt += "cat ";
    const ClipEncoding e = v1().encode(prompt);
    EXPECT_TRUE(e.truncated);
    EXPECT_EQ(e.dropped_tokens, 25);
    EXPECT_EQ(e.length, 77);
    ASSERT_EQ(e.ids.size(), 77u);
    EXPECT_EQ(e.ids.front(), kStart);
    EXPECT_EQ(e.ids.back(), kEnd);
    EXPECT_TRUE(std::all_of(e.ids.begin() + 1, e.ids.end() - 1, [](std::int64_t id) { return id == 2368; }));
    EXPECT_EQ(e.word_index[75], 74);
    EXPECT_EQ(e.words.size(), 100u); // words past the cut are still listed
    EXPECT_EQ(v1().tokenize(prompt).size(), 100u);

    std::string exact;
    for (int i = 0; i < 75; ++i) exact += "cat ";
    const ClipEncoding fits = v1().encode(exact);
    EXPECT_FALSE(fits.truncated);
    EXPECT_EQ(fits.dropped_tokens, 0);
    EXPECT_EQ(fits.length, 77);
    EXPECT_EQ(v1().encode(exact + "cat").dropped_tokens, 1);
}

TEST(ClipTokenizer, SdV2PadsWithZeros) {
    const ClipEncoding e = v2().encode("a photo of a cat");
    EXPECT_EQ(e.ids, padded({kStart, 320, 1125, 539, 320, 2368, kEnd}, 0));
    EXPECT_EQ(e.tokens[7], "!");
    EXPECT_EQ(e.word_index[7], -1);
    // diffusers' SD v2 tokenizer registers "!" as a special token: each '!' stays apart (huggingface/
    // diffusers#4153). OpenCLIP's own tokenizer merges them like SD v1 does.
    EXPECT_EQ(std::vector<std::int64_t>(e.ids.begin(), e.ids.begin() + 7),
              (std::vector<std::int64_t>{kStart, 320, 1125, 539, 320, 2368, kEnd}));
    EXPECT_EQ(v2().tokenize("wow!! amazing"), (std::vector<std::int64_t>{2781, 0, 0, 1370}));
    ClipTokenizerOptions open_clip = ClipTokenizerOptions::sd_v2();
    open_clip.pad_token_is_special = false;
    const ClipTokenizer plain(kVocabDir, open_clip);
    EXPECT_EQ(plain.encode("wow!! amazing").ids, padded({kStart, 2781, 748, 1370, kEnd}, 0));
}

TEST(ClipTokenizer, InvalidUtf8IsRejectedWithItsOffset) {
    using namespace std::string_literals;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"ab\xC3", "byte offset 2"},               // cut off
        {"\xE0\x80\x80", "byte offset 0"},         // overlong 3-byte NUL
        {"ok\xC0\xAF", "byte offset 2"},           // overlong '/'
        {"x\xED\xA0\x80", "byte offset 1"},        // surrogate U+D800
        {"cat \xF5\x80\x80\x80", "byte offset 4"}, // lead byte above 0xF4
        {"\xF4\x90\x80\x80", "byte offset 0"},     // U+110000
        {"a\x80", "byte offset 1"},                // stray continuation byte
        {"caf\xC3\x28", "byte offset 3"},          // missing continuation byte
        {"\xF0\x9F\x98", "byte offset 0"},         // emoji cut short
    };
    // Not a structured binding: clang 14 (the sanitized build) cannot capture one in a lambda.
    for (const auto& c : cases) {
        const std::string& bytes = c.first;
        const std::string& where = c.second;
        EXPECT_THROW(v1().encode(bytes), std::invalid_argument);
        const std::string message = error_of([&] { v1().encode(bytes); });
        EXPECT_NE(message.find(where), std::string::npos) << message;
        EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
    }
}

TEST(ClipTokenizer, MissingOrBrokenFilesNameThePath) {
    const std::string missing = error_of([] { ClipTokenizer t("/nonexistent/clip-tokenizer"); });
    EXPECT_NE(missing.find("/nonexistent/clip-tokenizer"), std::string::npos) << missing;
    EXPECT_NE(missing.find("does not exist"), std::string::npos) << missing;
    EXPECT_THROW(ClipTokenizer("/nonexistent/clip-tokenizer"), std::runtime_error);

    ScratchDir dir;
    const std::string empty = error_of([&] { ClipTokenizer t(dir.path()); });
    EXPECT_NE(empty.find("vocab.json"), std::string::npos) << empty;

    dir.write("only_vocab/vocab.json", kTinyVocab);
    const std::string no_merges = error_of([&] { ClipTokenizer t(dir.path() / "only_vocab"); });
    EXPECT_NE(no_merges.find((dir.path() / "only_vocab" / "merges.txt").string()), std::string::npos)
        << no_merges;

    dir.write("bad_json/vocab.json", "{\"a\": 0,");
    dir.write("bad_json/merges.txt", kTinyMerges);
    const std::string bad_json = error_of([&] { ClipTokenizer t(dir.path() / "bad_json"); });
    EXPECT_NE(bad_json.find("bad_json/vocab.json"), std::string::npos) << bad_json;
    EXPECT_NE(bad_json.find("not valid JSON"), std::string::npos) << bad_json;

    dir.write("no_markers/vocab.json", R"({"a": 0})");
    dir.write("no_markers/merges.txt", kTinyMerges);
    const std::string no_markers = error_of([&] { ClipTokenizer t(dir.path() / "no_markers"); });
    EXPECT_NE(no_markers.find("<|startoftext|>"), std::string::npos) << no_markers;

    dir.write("bad_merges/vocab.json", kTinyVocab);
    dir.write("bad_merges/merges.txt", "#version: 0.2\na b\nthree symbols here\n");
    const std::string bad_merges = error_of([&] { ClipTokenizer t(dir.path() / "bad_merges"); });
    EXPECT_NE(bad_merges.find("merges.txt' line 3"), std::string::npos) << bad_merges;

    ClipTokenizerOptions odd_pad;
    odd_pad.pad_token = "<pad>";
    const std::string no_pad = error_of([&] { ClipTokenizer t(kVocabDir, odd_pad); });
    EXPECT_NE(no_pad.find("'<pad>'"), std::string::npos) << no_pad;
}

TEST(ClipTokenizer, ModelFolderLayoutAndItsPadToken) {
    ScratchDir dir;
    dir.write("model/tokenizer/vocab.json", kTinyVocab);
    dir.write("model/tokenizer/merges.txt", kTinyMerges);
    EXPECT_EQ(ClipTokenizerOptions::from_folder(dir.path() / "model").pad_token, "<|endoftext|>");
    dir.write("model/tokenizer/special_tokens_map.json",
              R"({"pad_token": "!", "eos_token": "<|endoftext|>"})");
    const ClipTokenizerOptions options = ClipTokenizerOptions::from_folder(dir.path() / "model");
    EXPECT_EQ(options.pad_token, "!");

    const ClipTokenizer tiny(dir.path() / "model", options);
    EXPECT_EQ(tiny.vocab_file().string(), (dir.path() / "model" / "tokenizer" / "vocab.json").string());
    EXPECT_EQ(tiny.pad_id(), 9);
    // "abc": b c</w> (rank 0) first, then a bc</w>; "ab c" would need a missing merge.
    EXPECT_EQ(tiny.tokenize("abc"), (std::vector<std::int64_t>{8}));
    EXPECT_EQ(tiny.tokenize("ab"), (std::vector<std::int64_t>{0, 4})); // "a b</w>" is no merge
    EXPECT_EQ(tiny.tokenize("cab"), (std::vector<std::int64_t>{2, 0, 4}));
    EXPECT_EQ(tiny.tokenize("d"), (std::vector<std::int64_t>{11})); // not in the vocabulary: unk
    EXPECT_EQ(tiny.encode("abc").ids, padded({10, 8, 11}, 9));

    dir.write("other/tokenizer_config.json",
              R"({"pad_token": {"content": "<|endoftext|>", "lstrip": false}})");
    dir.write("other/vocab.json", kTinyVocab);
    dir.write("other/merges.txt", kTinyMerges);
    EXPECT_EQ(ClipTokenizerOptions::from_folder(dir.path() / "other").pad_token, "<|endoftext|>");

    // An empty pad token reached the tokenizer as an unexplained "ClipTokenizerOptions::pad_token is empty"
    // (std::invalid_argument, no file named: fuzz_tokenizer_files); now the file that declares it is named.
    for (const char* pad : {R"("")", R"({"content": ""})", "3"}) {
        dir.write("other/tokenizer_config.json", std::string(R"({"pad_token": )") + pad + "}");
        const std::string e = error_of([&] { ClipTokenizerOptions::from_folder(dir.path() / "other"); });
        EXPECT_NE(e.find("other/tokenizer_config.json': pad_token should be a non-empty string"),
                  std::string::npos)
            << e;
    }
}

// vocab.json's ids may be sparse; the id table was sized by the largest one, so this one-line change to the
// tiny vocabulary asked for 2^30 strings (tens of GB) before the tokenizer could refuse or use it.
TEST(ClipTokenizer, ALargeIdCostsOneEntryNotATableUpToIt) {
    ScratchDir dir;
    std::string vocab = kTinyVocab;
    const std::string end = "\"<|endoftext|>\": 11";
    vocab.replace(vocab.find(end), end.size(), "\"<|endoftext|>\": 1073741823");
    dir.write("sparse/vocab.json", vocab);
    dir.write("sparse/merges.txt", kTinyMerges);
    ClipTokenizerOptions options;
    options.pad_token = "!";
    const ClipTokenizer tiny(dir.path() / "sparse", options);
    EXPECT_EQ(tiny.tokenize("abc d"), (std::vector<std::int64_t>{8, 1073741823})); // d: unk, the end token
    EXPECT_EQ(tiny.token_text(1073741823), "<|endoftext|>");
    EXPECT_THROW(tiny.token_text(12), std::out_of_range);
    EXPECT_THROW(tiny.token_text(std::int64_t{1} << 40), std::out_of_range);
}

TEST(ClipTokenizer, ConcurrentEncodesAgree) {
    const std::vector<std::string> prompts = {"a photo of a cat", "xylophonist playing 🎻", "ΟΔΟΣ ΣΟΦΟΣ",
                                              "(masterpiece:1.2), best quality", "猫が好き"};
    std::vector<std::vector<std::int64_t>> expected;
    for (const auto& p : prompts) expected.push_back(v1().encode(p).ids);
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 50; ++round)
                for (std::size_t i = 0; i < prompts.size(); ++i)
                    if (v1().encode(prompts[(i + t) % prompts.size()]).ids !=
                        expected[(i + t) % prompts.size()])
                        ++failures[t];
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

std::vector<std::string> read_prompt_lines(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

TEST(ClipTokenizer, EveryFixturePromptEncodes) {
    const fs::path path = fs::path(ATTNSCOPE_TEST_DATA) / "tokenizer_prompts.txt";
    const auto prompts = read_prompt_lines(path);
    ASSERT_GE(prompts.size(), 220u) << path;
    int truncated = 0;
    for (const auto& p : prompts) {
        const ClipEncoding e = v1().encode(p);
        ASSERT_EQ(e.ids.size(), 77u) << p;
        truncated += e.truncated;
    }
    EXPECT_GE(truncated, 5);
}

// tests/data/tokenizer_reference.json comes from tools/make_tokenizer_fixtures.py, run where transformers
// is installed; it holds transformers' own ids for every prompt in tokenizer_prompts.txt.
TEST(ClipTokenizer, MatchesTransformersOnTheReferencePrompts) {
    const fs::path path = fs::path(ATTNSCOPE_TEST_DATA) / "tokenizer_reference.json";
    if (!fs::exists(path))
        GTEST_SKIP()
            << path.string()
            << " is absent: make it with tools/make_tokenizer_fixtures.py on a machine with transformers";
    std::ifstream in(path);
    const nlohmann::json ref = nlohmann::json::parse(in);
    ASSERT_FALSE(ref.value("ftfy_used", false))
        << "the reference was made with ftfy active; attnscope reproduces transformers without ftfy";
    ASSERT_TRUE(ref.value("rust_backed", true))
        << "the reference was made with the Python CLIPTokenizer; attnscope reproduces the Rust-backed one";
    const auto& prompts = ref.at("prompts");
    const auto& ids_v1 = ref.at("ids_v1");
    const auto& ids_v2 = ref.at("ids_v2");
    ASSERT_EQ(prompts.size(), ids_v1.size());
    ASSERT_EQ(prompts.size(), ids_v2.size());
    const std::string made_by = "transformers " + ref.value("transformers_version", std::string("?"));
    int mismatches = 0;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
        const auto prompt = prompts[i].get<std::string>();
        const auto want1 = ids_v1[i].get<std::vector<std::int64_t>>();
        const auto want2 = ids_v2[i].get<std::vector<std::int64_t>>();
        const auto got1 = v1().encode(prompt).ids;
        const auto got2 = v2().encode(prompt).ids;
        if (got1 == want1 && got2 == want2) continue;
        if (++mismatches <= 10) {
            const auto& want = got1 != want1 ? want1 : want2;
            const auto& got = got1 != want1 ? got1 : got2;
            std::size_t at = 0;
            while (at < want.size() && at < got.size() && want[at] == got[at]) ++at;
            ADD_FAILURE() << (got1 != want1 ? "v1" : "v2") << " prompt #" << i << " \"" << prompt
                          << "\": first difference at position " << at << ": " << made_by << " has "
                          << (at < want.size() ? std::to_string(want[at]) : "-") << ", attnscope "
                          << (at < got.size() ? std::to_string(got[at]) : "-");
        }
    }
    EXPECT_EQ(mismatches, 0) << "of " << prompts.size() << " prompts";
}

} // namespace
} // namespace attnscope
