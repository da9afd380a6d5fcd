// The visualizer's script lines, parsed and checked without a window: the audit's findings (integers out of
// range, half-applied sizes, bad heads) are errors before anything applies.
#include "gui/script_parse.h"

#include <gtest/gtest.h>
#include <sstream>
#include <stdexcept>

namespace attnscope::gui {
namespace {

std::vector<ScriptLine> parse(const std::string& text) {
    std::istringstream in(text);
    return parse_script(in, "s.txt");
}

// The message of the error parsing `text` gives, or "" when it parses.
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(ScriptParse, WordsQuotesAndComments) {
    const auto lines = parse("# comment\n\nprompt \"a red cat\"  # why\nstep 3\n");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].number, 3);
    EXPECT_EQ(lines[0].words, (std::vector<std::string>{"prompt", "a red cat"}));
    EXPECT_EQ(int_arg(lines[1], 1), 3);
}

TEST(ScriptParse, UnknownCommandAndUnterminatedQuote) {
    EXPECT_EQ(error_of("step\nfrobnicate 3\n"), "s.txt:2: unknown command 'frobnicate'");
    EXPECT_EQ(error_of("prompt \"cat\n"), "s.txt:1: unterminated quote");
}

TEST(ScriptParse, IntegersOutOfRangeAreErrors) {
    EXPECT_NE(
        error_of("rewind -2147483648").find("s.txt:1 (rewind): argument 1: expected a whole number from 1"),
        std::string::npos);
    EXPECT_NE(error_of("rewind 0").find("(rewind)"), std::string::npos);
    EXPECT_NE(error_of("steps 0").find("(steps)"), std::string::npos);
    EXPECT_NE(error_of("steps -3").find("(steps)"), std::string::npos);
    EXPECT_NE(error_of("steps 99999999999999999999").find("(steps)"), std::string::npos);
    EXPECT_NE(error_of("step 12abc").find("(step)"), std::string::npos);
    EXPECT_NE(error_of("select-token 2 77").find("(select-token)"), std::string::npos);
    EXPECT_NE(error_of("select-index 0").find("(select-index)"), std::string::npos);
    // Which indices exist is the model's to say (GuiScriptErrors.AnIndexPastTheModelsSitesIsAnError).
    EXPECT_EQ(error_of("rewind 1\nsteps 10000\nselect-token 0 76\nselect-index 70\nwait-frames 0"), "");
}

TEST(ScriptParse, SeedsCoverSixtyFourBitsAndNoMore) {
    const auto lines = parse("seed 18446744073709551615\nseed 0\n");
    EXPECT_EQ(seed_arg(lines[0], 1), 18446744073709551615ull);
    EXPECT_EQ(seed_arg(lines[1], 1), 0u);
    EXPECT_NE(error_of("seed 99999999999999999999").find("(seed): argument 1: expected a seed"),
              std::string::npos);
    EXPECT_NE(error_of("seed -1").find("(seed)"), std::string::npos);
    EXPECT_NE(error_of("seed +1").find("(seed)"), std::string::npos);
}

TEST(ScriptParse, SizesParseWhole) {
    EXPECT_EQ(size_arg(parse("size 64x48")[0], 1), std::make_pair(64, 48));
    for (const char* bad : {"size 64x", "size x64", "size 64", "size 63x64", "size 64x64x", "size 8192x8200",
                            "size -64x64", "size \"64x 64\""})
        EXPECT_NE(error_of(bad).find("expected WxH in pixels"), std::string::npos) << bad;
}

TEST(ScriptParse, NumbersAreFinite) {
    EXPECT_FLOAT_EQ(float_arg(parse("cfg 7.5")[0], 1), 7.5f);
    for (const char* bad : {"cfg nan", "cfg inf", "opacity 1e99", "cfg 7.5x", "click 0.5", "cfg \"\""})
        EXPECT_NE(error_of(bad), "") << bad;
}

TEST(ScriptParse, HeadsAreNumbersFromZeroOrAReduction) {
    EXPECT_EQ(error_of("select-head 3\nselect-head mean\nselect-head max"), "");
    EXPECT_NE(error_of("select-head -1").find("(select-head): argument 1 (a head number, mean or max)"),
              std::string::npos);
    EXPECT_NE(error_of("select-head median").find("(select-head)"), std::string::npos);
}

TEST(ScriptParse, ArgumentCountsAreChecked) {
    EXPECT_EQ(error_of("quit now"), "s.txt:1 (quit): expected 0 argument(s), got 1");
    EXPECT_EQ(error_of("select-token"), "s.txt:1 (select-token): expected 1 or more argument(s), got 0");
    EXPECT_EQ(error_of("compare"), "s.txt:1 (compare): expected 1 to 4 argument(s), got 0");
    EXPECT_EQ(error_of("step\nstep 2\ncompare math bf16 free 3\nnormalize fixed 0 1"), "");
    // The prompt box's captions: the next random one, or the menu's N-th (from 1; the model says how many).
    EXPECT_EQ(error_of("random-caption\nexample 1\nexample 8"), "");
    EXPECT_EQ(error_of("random-caption 3"), "s.txt:1 (random-caption): expected 0 argument(s), got 1");
    EXPECT_NE(error_of("example 0").find("(example): argument 1: expected a whole number from 1"),
              std::string::npos);
    EXPECT_EQ(error_of("example"), "s.txt:1 (example): expected 1 argument(s), got 0");
}

TEST(ScriptParse, ArgumentsOfAnUncheckedLineStillThrow) {
    const ScriptLine line{1, {"rewind", "-2147483648"}};
    EXPECT_THROW(int_arg(line, 2), std::invalid_argument);
    EXPECT_THROW(size_arg(ScriptLine{1, {"size", "64x"}}, 1), std::invalid_argument);
}

} // namespace
} // namespace attnscope::gui
