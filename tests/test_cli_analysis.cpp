// `attnscope maps --quantity/--batch diff/--token-mass` and `attnscope inspect-int8` as a user runs them, on
// the shared capture `attnscope generate --capture` wrote with the small fixture model
// (test_capture_fixtures.h): score, entropy and cond - uncond maps equal float64 recomputation from the
// captured Q and K, the token mass CSV and maps.json hold shares that sum to 1 and match recomputation, the
// int8 report is the in-process inspection of the same call with its charts beside it, and bad requests get
// one line and the right code.
#include "capture/attention_maps.h"
#include "compare/quant_inspector.h"
#include "io/image_file.h"
#include "io/png_file.h"
#include "io/safetensors_file.h"
#include "test_capture_fixtures.h"
#include "test_json.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace attnscope {
namespace {

using nlohmann::json;

using test::read_json;

class CliAnalysis : public test::CliCaptureSuite<CliAnalysis> {
  protected:
    static const CapturedSite& site(int step, int index, AttentionKind kind) {
        const auto* c = test::cli_capture().loaded.store.find(step, index, kind);
        if (!c) throw std::out_of_range("not captured");
        return *c;
    }

    // `attnscope <command> --capture C <args>`, expected to succeed.
    static test::CliResult run(const std::string& command, const std::string& args) {
        auto r = test::run_cli(command + " --capture " + capture() + " " + args);
        EXPECT_EQ(r.rc, 0) << r.output;
        return r;
    }
    static at::Tensor saved_map(const std::string& out) {
        return SafetensorsFile(out + "/maps.safetensors").load("map").to(at::kDouble);
    }

    // scale q.k^T of every head of one batch item, (heads, Sq, Sk) in float64.
    static at::Tensor scores(const CapturedSite& c, int batch) {
        const int h = c.site.heads;
        const auto q = c.q.narrow(0, batch * h, h).to(at::kDouble),
                   k = c.k.narrow(0, batch * h, h).to(at::kDouble);
        return at::matmul(q, k.transpose(1, 2)) / std::sqrt(double(q.size(2)));
    }
    static at::Tensor entropy(const CapturedSite& c, int batch) { // (heads, Sq)
        const auto p = at::softmax(scores(c, batch), 2);
        return -(p * p.log()).sum(2);
    }
};

void expect_close(const at::Tensor& got, const at::Tensor& expected, const std::string& what) {
    ASSERT_EQ(got.sizes(), expected.sizes()) << what;
    EXPECT_LT(test::rel_l2(got, expected), 1e-5) << what;
}

TEST_F(CliAnalysis, AScoreMapIsTheTokensLogits) {
    const auto out = dir_->file("score");
    run("maps", "--out " + out + " --token-index 2 --index 3 --step 2 --head 4 --quantity score");
    const auto& c = site(1, 3, AttentionKind::Cross);
    expect_close(saved_map(out), scores(c, 1)[4].select(1, 2).reshape({c.site.height, c.site.width}),
                 "head 4's logits of token 2");
    const auto j = read_json(out + "/maps.json");
    EXPECT_EQ(j["quantity"], "score");
    EXPECT_EQ(j["maps"][0]["quantity"], "score");
    EXPECT_EQ(j["batch"], "cond");
}

TEST_F(CliAnalysis, AnEntropyMapIsEveryQuerysEntropyAveragedOverSitesAndSteps) {
    const auto out = dir_->file("entropy");
    run("maps", "--out " + out + " --kind self --quantity entropy --index 5,6 --size 16x12");
    at::Tensor expected = at::zeros({12, 16}, at::kDouble);
    for (int step : {0, 1})
        for (int index : {5, 6}) {
            const auto& c = site(step, index, AttentionKind::Self);
            const auto map = entropy(c, 1).mean(0).reshape({1, 1, c.site.height, c.site.width});
            expected += at::upsample_bilinear2d(map, {12, 16}, false, c10::nullopt, c10::nullopt)[0][0];
        }
    expect_close(saved_map(out), expected / 4, "mean entropy of indices 5 and 6 over both steps");
    const auto j = read_json(out + "/maps.json");
    EXPECT_EQ(j["maps"][0]["aggregation"], "mean over sites and steps");
    EXPECT_EQ(j["maps"][0].count("pixel"), 0u);
}

TEST_F(CliAnalysis, TheGuidanceSplitIsTheConditionalMinusTheUnconditionalHalf) {
    const auto out = dir_->file("diff");
    run("maps", "--out " + out + " --kind self --pixel 40,10 --index 2 --step 1 --batch diff");
    const auto& c = site(0, 2, AttentionKind::Self);
    const int64_t row = int64_t{10} * c.site.height / 48 * c.site.width + int64_t{40} * c.site.width / 64;
    const auto p = [&](int batch) { return at::softmax(scores(c, batch), 2).select(1, row).mean(0); };
    expect_close(saved_map(out), (p(1) - p(0)).reshape({c.site.height, c.site.width}), "cond - uncond");
    EXPECT_EQ(read_json(out + "/maps.json")["batch"], "diff");
}

// The CSV's rows, keyed "step,index,half", each the four shares.
std::map<std::string, std::vector<double>> read_mass_csv(const std::string& path) {
    std::istringstream in(test::read_bytes(path));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "step,index,half,start,prompt,end,padding");
    std::map<std::string, std::vector<double>> rows;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string step, index, half, value;
        std::getline(fields, step, ',');
        std::getline(fields, index, ',');
        std::getline(fields, half, ',');
        auto& shares = rows[step + "," + index + "," + half];
        while (std::getline(fields, value, ',')) shares.push_back(std::stod(value));
    }
    return rows;
}

TEST_F(CliAnalysis, TheTokenMassTableHoldsEveryStepSiteAndHalf) {
    const auto out = dir_->file("mass"), csv = dir_->file("mass.csv");
    const auto r = run("maps", "--out " + out + " --token-mass " + csv); // the table alone, no map
    EXPECT_NE(r.output.find("the token mass of 32 cross-attention calls in " + csv), std::string::npos)
        << r.output;
    EXPECT_FALSE(std::filesystem::exists(out + "/map.png"));
    const auto rows = read_mass_csv(csv);
    ASSERT_EQ(rows.size(), 64u); // 2 steps x 16 sites x 2 halves

    const auto summary = read_json(test::cli_capture().summary);
    const int prompt = static_cast<int>(summary["prompt"]["tokens"].size()),
              negative = static_cast<int>(summary["negative_prompt"]["tokens"].size());
    const auto j = read_json(out + "/maps.json");
    ASSERT_EQ(j["token_mass"]["rows"].size(), 32u);
    EXPECT_EQ(j["token_mass"]["file"], csv);
    for (const auto& row : j["token_mass"]["rows"]) {
        const int step = row["step"], index = row["index"];
        const auto& c = site(step - 1, index, AttentionKind::Cross);
        for (const int batch : {1, 0}) {
            const std::string half = batch == 1 ? "cond" : "uncond";
            const int length = batch == 1 ? prompt : negative;
            // Float64 shares of the start token, the prompt, the end token and the padding.
            const auto share = at::softmax(scores(c, batch), 2).mean(at::IntArrayRef{0, 1});
            const std::vector<double> expected{
                share[0].item<double>(), share.narrow(0, 1, length - 2).sum().item<double>(),
                share[length - 1].item<double>(), share.narrow(0, length, 77 - length).sum().item<double>()};
            const auto& from_csv = rows.at(std::to_string(step) + "," + std::to_string(index) + "," + half);
            ASSERT_EQ(from_csv.size(), 4u);
            double total = 0;
            for (int i = 0; i < 4; ++i) {
                const std::string name = j["token_mass"]["columns"][i];
                EXPECT_NEAR(from_csv[i], expected[i], 1e-6)
                    << half << " " << name << " at " << step << "," << index;
                EXPECT_NEAR(row[half][name].get<double>(), from_csv[i], 1e-8) << name;
                total += from_csv[i];
            }
            EXPECT_NEAR(total, 1.0, 1e-6);
        }
    }

    // With a map, the table rides along in the same maps.json.
    const auto both = dir_->file("mass-and-map");
    run("maps", "--out " + both + " --token red --token-mass " + dir_->file("mass2.csv"));
    const auto j2 = read_json(both + "/maps.json");
    EXPECT_EQ(j2["maps"].size(), 1u);
    EXPECT_EQ(j2["token_mass"]["rows"], j["token_mass"]["rows"]);
}

TEST_F(CliAnalysis, TheInt8ReportIsTheInspectionOfThatCall) {
    const auto out = dir_->file("int8");
    const auto r = run("inspect-int8", "--index 2 --step 1 --kind self --bins 40 --out " + out);
    EXPECT_NE(
        r.output.find("wrote " + out + ": int8.json, histogram.png, p_error_by_key.png; step 1 index 2 self"),
        std::string::npos)
        << r.output;
    const auto& c = site(0, 2, AttentionKind::Self);
    const auto expected = inspect_int8(c.q, c.k, c.site.scale(), 40);
    const auto j = read_json(out + "/int8.json");
    EXPECT_EQ(j["site"]["heads"], c.site.heads);
    EXPECT_EQ(j["site"]["seq_k"], c.site.seq_k);
    EXPECT_EQ(j["quant_block"], 64);

    // Steps and saturation per row and block, as the kernel quantizes.
    const auto steps = expected.quant.q.steps;
    ASSERT_EQ(j["q"]["steps"].size(), static_cast<std::size_t>(steps.size(0)));
    ASSERT_EQ(j["q"]["steps"][0].size(), static_cast<std::size_t>(steps.size(1)));
    for (int64_t row = 0; row < steps.size(0); ++row) {
        EXPECT_EQ(j["q"]["steps"][row][0].get<float>(), steps[row][0].item<float>());
        EXPECT_EQ(j["k"]["saturated"][row][0].get<int64_t>(),
                  expected.quant.k.saturated[row][0].item<int64_t>());
        // The largest value of each block is at +-127: at least one per block.
        EXPECT_GE(j["q"]["saturated"][row][0].get<int64_t>(), 1);
    }
    EXPECT_EQ(j["q"]["values"], c.q.numel());

    // The histograms count every score of the call, on edges that span them.
    const auto& h = j["scores"]["histogram"];
    ASSERT_EQ(h["edges"].size(), 41u);
    EXPECT_EQ(h["edges"][0].get<double>(), h["lo"].get<double>());
    EXPECT_DOUBLE_EQ(h["edges"][40].get<double>(), h["hi"].get<double>());
    EXPECT_EQ(h["exact"].get<std::vector<int64_t>>(), expected.histogram.exact);
    EXPECT_EQ(h["int8"].get<std::vector<int64_t>>(), expected.histogram.quantized);
    int64_t total = 0;
    for (const auto& n : h["int8"]) total += n.get<int64_t>();
    EXPECT_EQ(total, c.q.size(0) * c.site.seq_q * c.site.seq_k);

    // P's error per row (batch, head) and per key.
    EXPECT_NEAR(j["p_error"]["max_abs"].get<double>(), expected.p_error.max_abs, 1e-12);
    const auto& by_row = j["p_error"]["by_row"];
    ASSERT_EQ(by_row.size(), static_cast<std::size_t>(c.q.size(0)));
    EXPECT_EQ(by_row[c.site.heads + 3]["batch"], 1);
    EXPECT_EQ(by_row[c.site.heads + 3]["head"], 3);
    EXPECT_NEAR(by_row[c.site.heads + 3]["mean_abs"].get<double>(),
                expected.p_error_by_row[c.site.heads + 3].mean_abs, 1e-12);
    ASSERT_EQ(j["p_error"]["by_key"]["max_abs"].size(), static_cast<std::size_t>(c.site.seq_k));

    // The charts: a bar per bin (10 pixels wide for 40 bins) in three panels, a bar per key in two.
    const auto histogram = read_image(out + "/histogram.png");
    EXPECT_EQ(histogram.width, 8 + 40 * 10);
    EXPECT_EQ(histogram.height, 4 + 3 * (120 + 4));
    const auto by_key = read_image(out + "/p_error_by_key.png");
    EXPECT_EQ(by_key.width, 8 + static_cast<int>(c.site.seq_k) * (400 / static_cast<int>(c.site.seq_k)));
    EXPECT_EQ(by_key.height, 4 + 2 * (120 + 4));
}

TEST_F(CliAnalysis, WithoutOutTheInt8ReportGoesToStdout) {
    const auto r = run("inspect-int8", "--index 7 --step 2");
    const auto j = json::parse(r.output);
    EXPECT_EQ(j["kind"], "cross");
    EXPECT_EQ(j["site"]["seq_k"], 77);
    EXPECT_EQ(j["p_error"]["by_key"]["mean_abs"].size(), 77u);
}

TEST_F(CliAnalysis, ExplainsBadRequestsInOneLine) {
    const auto expect_fails = [&](const std::string& command, const std::string& args, int rc,
                                  const std::string& message) {
        const auto r = test::run_cli(command + " --capture " + capture() + " " + args);
        EXPECT_EQ(r.rc, rc) << args << "\n" << r.output;
        EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
        EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    };
    const auto out = " --out " + dir_->file("bad");
    expect_fails("maps", "--token red --quantity logits" + out, 2,
                 "bad --quantity 'logits' (use probability, score or entropy)");
    expect_fails("maps", "--quantity entropy --token red" + out, 2,
                 "--quantity entropy maps every query of a site: leave out --token");
    expect_fails("maps", "--token red --batch both" + out, 2,
                 "bad --batch 'both' (use cond, uncond or diff)");
    expect_fails("maps", "--token-mass ''" + out, 2, "--token-mass needs a file name");
    expect_fails("inspect-int8", "--index 2", 2,
                 "inspect-int8 needs --capture FILE (from generate --capture), --index N and --step S");
    expect_fails("inspect-int8", "--index 0 --step 1", 2, "bad --index 0: sites count from 1");
    // The model's numbering decides which sites there are: SD's has no 17th.
    expect_fails("inspect-int8", "--index 17 --step 1", 1,
                 "step 1 index 17 cross-attention is not in the capture");
    expect_fails("inspect-int8", "--index 2 --step 1 --bins 0", 2, "bad --bins 0: expected 1..10000");
    expect_fails("inspect-int8", "--index 2 --step 3", 1,
                 "step 3 index 2 cross-attention is not in the capture (it holds steps 1 to 2)");
    EXPECT_FALSE(std::filesystem::exists(dir_->file("bad")));
}

} // namespace
} // namespace attnscope
