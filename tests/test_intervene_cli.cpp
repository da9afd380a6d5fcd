// `attnscope edit` as a user runs it on the small pipeline: the original and edited images, edit.json, where
// the latents part, and its answers to bad edits.
#include "io/image_file.h"
#include "io/png_file.h"
#include "test_json.h"
#include "test_util.h"

#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

const std::string kRun =
    " --model " + std::string(ATTNSCOPE_TEST_DATA) +
    "/pipeline_v1_small --prompt 'a red circle left of a blue square' --steps 3 --size 64x64";

using test::read_json;

TEST(CliEdit, ScalesATokenAndZeroesAHeadFromAStep) {
    test::TempDir dir;
    const auto r =
        test::run_cli("edit --edit 'token=red:scale=0:renorm@steps=1-2' --edit 'head=3@sites=4@attn=self' "
                      "--branch-from 1" +
                      kRun + " --out " + dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("2 edit(s) from step 1; images PSNR"), std::string::npos) << r.output;
    const auto j = read_json(dir.file("run/edit.json"));
    EXPECT_EQ(j["branch_from"], 1);
    // Every step's time: 3 of the original, 2 re-run from step 1 with the edits.
    EXPECT_EQ(j["step_ms"]["original"].size(), 3u);
    ASSERT_EQ(j["step_ms"]["edited"].size(), 2u);
    for (const auto& ms : j["step_ms"]["edited"]) EXPECT_GT(ms.get<double>(), 0.0);
    ASSERT_EQ(j["edits"].size(), 2u);
    EXPECT_EQ(j["edits"][0]["spec"], "token=red:scale=0:renorm@steps=1-2");
    EXPECT_EQ(j["edits"][0]["applied"], "token 2 x0 renormalized at sites all, steps 1-2, cross-attention");
    EXPECT_EQ(j["edits"][1]["applied"], "head 3 zeroed at sites 4, steps all, self-attention");
    ASSERT_EQ(j["latents"].size(), 2u); // steps 1 and 2 were run again
    EXPECT_EQ(j["latents"][0]["step"], 1);
    EXPECT_GT(j["latents"][0]["rel_l2"].get<double>(), 0.0);
    EXPECT_LT(j["image"]["psnr_db"].get<double>(), 100.0);
    for (const char* f : {"original.png", "edited.png", "diff.png"})
        EXPECT_EQ(read_image(dir.file(std::string("run/") + f)).width, 64) << f;
}

TEST(CliEdit, AnEditThatChangesNothingGivesTheOriginal) {
    test::TempDir dir;
    const auto r =
        // Edited sites compute with math (they need P): so does the original here, for an exact comparison.
        test::run_cli("edit --edit 'token=red,circle:scale=1:renorm' --backend math" + kRun + " --out " +
                      dir.file("run"));
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto j = read_json(dir.file("run/edit.json"));
    EXPECT_EQ(j["image"]["psnr_db"], "inf");
    EXPECT_EQ(j["edits"][0]["applied"],
              "tokens 2,3 x1 renormalized at sites all, steps all, cross-attention");
    for (const auto& step : j["latents"]) EXPECT_EQ(step["max_abs"], 0.0);
}

TEST(CliEdit, ExplainsBadEditsInOneLine) {
    test::TempDir dir;
    const std::string out = " --out " + dir.file("run");
    auto r = test::run_cli("edit" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("edit needs at least one --edit"), std::string::npos) << r.output;
    r = test::run_cli("edit --edit 'token=red'" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("a token edit needs :scale=S"), std::string::npos) << r.output;
    r = test::run_cli("edit --edit 'head=1@sites=0-3'" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad @sites '0-3': expected numbers from 1"), std::string::npos) << r.output;
    // Which sites exist is the loaded model's numbering.
    r = test::run_cli("edit --edit 'head=1@sites=4,17'" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(
        r.output.find("bad 'head=1@sites=4,17': @sites names site 17, but the model's numbering has sites "
                      "1..16"),
        std::string::npos)
        << r.output;
    r = test::run_cli("edit --edit 'head=1@steps=3'" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("bad @steps '3': expected numbers 0..2"), std::string::npos) << r.output;
    r = test::run_cli("edit --edit 'neuron=4'" + kRun + out);
    EXPECT_EQ(r.rc, 2);
    EXPECT_NE(r.output.find("expected token=WORD:scale=S[:renorm], head=H or backend=NAME"),
              std::string::npos)
        << r.output;
    r = test::run_cli("edit --edit 'token=dog:scale=2'" + kRun + out);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("'dog' is not a word of the prompt"), std::string::npos) << r.output;
    r = test::run_cli("edit --edit 'head=8'" + kRun + " --steps 1" + out);
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.output.find("head 8 does not exist at index 1 self 8x8 (heads 0..7)"), std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("run/edit.json")));
}

} // namespace
} // namespace attnscope
