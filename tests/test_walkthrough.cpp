// The walk-through of one query (core/teach): every stage's numbers against a float64 recomputation written
// out element by element here, the replay of a step against what the capture kept, and the worksheet
// command's output.
#include "capture/capture_file.h"
#include "capture/capture_store.h"
#include "small_pipeline.h"
#include "teach/site_replay.h"
#include "teach/walkthrough_json.h"
#include "test_util.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

namespace attnscope {
namespace {

const std::string kData = ATTNSCOPE_TEST_DATA;

double at2(const at::Tensor& t, int64_t i, int64_t j) {
    return t[i][j].item<double>();
}

// A guided call of 2 batch items x 3 heads, 6 queries on a 3x2 grid, keys of dim 4 (5 text tokens for
// cross-attention, the 6 pixels for self-attention), channels 12, with a U-Net output of 2 x 4 x 6 x 4
// (latent pixels per site cell: 2).
struct HandCall {
    WalkthroughInputs in;
    int64_t keys;
    explicit HandCall(AttentionKind kind) : keys(kind == AttentionKind::Self ? 6 : 5) {
        at::manual_seed(11);
        auto& s = in.site;
        s.index = 4;
        s.kind = kind;
        s.width = 3;
        s.height = 2;
        s.heads = 3;
        s.head_dim = 4;
        s.batch = 2;
        s.seq_q = 6;
        s.seq_k = keys;
        in.hidden = at::randn({2, 6, 12}, at::kFloat);
        in.w_q = at::randn({12, 12}, at::kFloat);
        const auto q =
            at::matmul(in.hidden, in.w_q.t()).view({2, 6, 3, 4}).transpose(1, 2).reshape({6, 6, 4});
        in.q = q.contiguous();
        in.k = at::randn({6, keys, 4}, at::kFloat) * 2;
        in.v = at::randn({6, keys, 4}, at::kFloat);
        in.lse = at::logsumexp(at::matmul(in.q, in.k.transpose(1, 2)) * s.scale(), -1);
        in.w_out = at::randn({12, 12}, at::kFloat);
        in.b_out = at::randn({12}, at::kFloat);
        in.unet_output = at::randn({2, 4, 4, 6}, at::kFloat);
        in.guidance_scale = 7.5;
    }
};

// softmax by hand: scores, maximum, shifted exponentials, sum.
std::vector<double> hand_probs(const WalkthroughInputs& in, int64_t row, int64_t query,
                               double* lse = nullptr) {
    const int64_t keys = in.k.size(1), d = in.k.size(2);
    std::vector<double> s(keys);
    double m = -INFINITY;
    for (int64_t j = 0; j < keys; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c)
            dot += in.q[row][query][c].item<double>() * in.k[row][j][c].item<double>();
        s[j] = dot / std::sqrt(static_cast<double>(d));
        m = std::max(m, s[j]);
    }
    double z = 0;
    for (auto& x : s) z += (x = std::exp(x - m));
    for (auto& x : s) x /= z;
    if (lse) *lse = m + std::log(z);
    return s;
}

class QueryWalkthroughOf : public ::testing::TestWithParam<AttentionKind> {};

TEST_P(QueryWalkthroughOf, EveryStageEqualsAFloat64RecomputationByHand) {
    const HandCall call(GetParam());
    const int64_t keys = call.keys;
    const auto& in = call.in;
    const int batch = 1, head = 2;
    const int64_t query = 4, row = batch * 3 + head; // query (1, 1) of the 3x2 grid
    const auto w = walk_query(in, {-1, head, query});
    ASSERT_EQ(w.batch, batch);
    double lse = 0;
    const auto p = hand_probs(in, row, query, &lse);
    for (int64_t j = 0; j < keys; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < 4; ++c)
            dot += in.q[row][query][c].item<double>() * in.k[row][j][c].item<double>();
        EXPECT_NEAR(w.scores[j].item<double>(), dot / 2.0, 1e-12);
        EXPECT_NEAR(w.exps[j].item<double>(), std::exp(dot / 2.0 - w.row_max), 1e-12);
        EXPECT_NEAR(w.probs[j].item<double>(), p[j], 1e-12);
    }
    EXPECT_NEAR(w.lse, lse, 1e-12);
    EXPECT_NEAR(w.lse, w.row_max + std::log(w.exp_sum), 1e-12);
    EXPECT_NEAR(w.captured_lse, lse, 1e-5) << "the LSE kept in fp32 is the LSE of these scores";
    EXPECT_DOUBLE_EQ(w.row_max, w.scores.max().item<double>());

    // O, each head's O at the query, joined and projected.
    std::vector<double> joined;
    for (int h = 0; h < 3; ++h) {
        const auto ph = hand_probs(in, batch * 3 + h, query);
        for (int64_t c = 0; c < 4; ++c) {
            double o = 0;
            for (int64_t j = 0; j < keys; ++j) o += ph[j] * in.v[batch * 3 + h][j][c].item<double>();
            joined.push_back(o);
            EXPECT_NEAR(at2(w.head_outputs, h, c), o, 1e-12);
            if (h == head) {
                EXPECT_NEAR(w.out[c].item<double>(), o, 1e-12);
                EXPECT_NEAR(at2(w.contributions, 2, c), ph[2] * in.v[row][2][c].item<double>(), 1e-12);
            }
        }
    }
    for (int64_t r = 0; r < 12; ++r) {
        double y = in.b_out[r].item<double>();
        for (int64_t c = 0; c < 12; ++c) y += in.w_out[r][c].item<double>() * joined[c];
        EXPECT_NEAR(w.projected[r].item<double>(), y, 1e-10);
    }
    // q from the hidden state: W_q's rows of this head.
    for (int64_t c = 0; c < 4; ++c) {
        double y = 0;
        for (int64_t i = 0; i < 12; ++i)
            y += in.w_q[head * 4 + c][i].item<double>() * in.hidden[batch][query][i].item<double>();
        EXPECT_NEAR(w.q_from_hidden[c].item<double>(), y, 1e-10);
        EXPECT_NEAR(w.q[c].item<double>(), y, 1e-4) << "q was projected in fp32";
    }
    // Guidance: the other half's P, and the two predictions combined at the latent pixel under the query.
    EXPECT_EQ(w.other_batch, 0);
    const auto po = hand_probs(in, head, query);
    for (int64_t j = 0; j < keys; ++j) EXPECT_NEAR(w.other_probs[j].item<double>(), po[j], 1e-12);
    EXPECT_EQ(w.latent_x, 3); // the query's centre x = 1.5 of 3 cells -> 3 of 6 latent columns
    EXPECT_EQ(w.latent_y, 3); // y = 1.5 of 2 cells -> 3 of 4 latent rows
    for (int64_t c = 0; c < 4; ++c) {
        const double u = in.unet_output[0][c][w.latent_y][w.latent_x].item<double>();
        const double k = in.unet_output[1][c][w.latent_y][w.latent_x].item<double>();
        EXPECT_NEAR(w.eps_guided[c].item<double>(), u + 7.5 * (k - u), 1e-12);
    }
}

INSTANTIATE_TEST_SUITE_P(SelfAndCross, QueryWalkthroughOf,
                         ::testing::Values(AttentionKind::Self, AttentionKind::Cross),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(QueryWalkthrough, RefusesWhatIsOutOfRange) {
    const HandCall call(AttentionKind::Cross);
    EXPECT_THROW(walk_query(call.in, {-1, 3, 0}), std::invalid_argument); // 3 heads
    EXPECT_THROW(walk_query(call.in, {-1, -1, 0}), std::invalid_argument);
    EXPECT_THROW(walk_query(call.in, {2, 0, 0}), std::invalid_argument);  // 2 batch items
    EXPECT_THROW(walk_query(call.in, {-1, 0, 6}), std::invalid_argument); // 6 queries
    auto bad = call.in;
    bad.v = at::randn({6, 4, 4});
    EXPECT_THROW(walk_query(bad, {-1, 0, 0}), std::invalid_argument);
}

using test::small_pipeline;
using test::small_settings;

TEST(SiteReplay, GivesBackExactlyWhatTheStepSawAndWhatTheCaptureKept) {
    Session session(small_pipeline(), small_settings());
    CapturePolicy policy;
    policy.values = true;
    CaptureStore store(policy);
    session.router().add_observer(&store);
    for (int s = 0; s < 2; ++s) {
        store.begin_step(s);
        session.step();
    }
    for (const auto kind : {AttentionKind::Self, AttentionKind::Cross}) {
        const auto call = replay_call(session, 0, 3, kind);
        const auto* kept = store.find(0, 3, kind);
        ASSERT_NE(kept, nullptr);
        EXPECT_TRUE(at::equal(call.q, kept->q)) << to_string(kind);
        EXPECT_TRUE(at::equal(call.k, kept->k)) << to_string(kind);
        EXPECT_TRUE(at::equal(call.v, kept->v)) << to_string(kind);
        EXPECT_TRUE(at::equal(call.lse, kept->lse)) << to_string(kind);

        // The walk-through of the replayed call: O is the backend's O, q is W_q times the hidden state.
        const auto in = walkthrough_inputs(call, session);
        const int64_t query = call.site.seq_q / 2;
        for (int head = 0; head < call.site.heads; ++head) {
            const auto w = walk_query(in, {-1, head, query});
            const int64_t row = (call.site.batch - 1) * call.site.heads + head;
            EXPECT_LT((w.out - call.out[row][query].to(at::kDouble)).abs().max().item<double>(), 1e-5);
            EXPECT_LT((w.q_from_hidden - w.q).abs().max().item<double>(), 1e-4);
            EXPECT_NEAR(w.lse, w.captured_lse, 1e-4);
            EXPECT_TRUE(w.eps_guided.defined());
        }
    }
    EXPECT_THROW(replay_call(session, 2, 3, AttentionKind::Self), std::out_of_range) << "step 3 has not run";
    EXPECT_THROW(replay_call(session, 0, 17, AttentionKind::Self), std::out_of_range);
}

TEST(SiteReplay, TheReplayedOutputProjectionIsWhatTheStepAddedToTheResidualStream) {
    // The walk-through joins its float64 O of every head in the model's order: projected, it is to_out of
    // the backend's O.
    Session session(small_pipeline(), small_settings());
    session.step();
    const auto call = replay_call(session, 0, 1, AttentionKind::Cross);
    const auto in = walkthrough_inputs(call, session);
    const int64_t query = 7, b = call.site.batch - 1, heads = call.site.heads;
    const auto w = walk_query(in, {-1, 0, query});
    const auto joined = call.out.narrow(0, b * heads, heads).select(1, query).reshape({-1}).to(at::kDouble);
    const auto expected = at::mv(in.w_out.to(at::kDouble), joined) + in.b_out.to(at::kDouble);
    EXPECT_LT((w.projected - expected).abs().max().item<double>(), 1e-5);
}

TEST(CliWalkthrough, WritesTheWorksheetAndEveryNumber) {
    const test::TempDir dir;
    const auto gen =
        test::run_cli("generate --model " + kData +
                      "/pipeline_v1_small --prompt 'a red circle' --negative blurry --steps 2 --seed 5 "
                      "--size 64x48 --capture " +
                      dir.file("c.safetensors") + " --capture-values --out " + dir.file("run"));
    ASSERT_EQ(gen.rc, 0) << gen.output;
    const auto r = test::run_cli("walkthrough --capture " + dir.file("c.safetensors") +
                                 " --index 2 --kind cross --pixel 40,20 --head 1 --out " + dir.file("w"));
    ASSERT_EQ(r.rc, 0) << r.output;
    std::ifstream in(dir.file("w/walkthrough.json"));
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["step"], 2);
    EXPECT_EQ(j["head"], 1);
    EXPECT_EQ(j["key_labels"][1], "a");
    EXPECT_EQ(j["key_labels"][2], "red");
    double sum = 0;
    for (const double p : j["probs"]) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_NEAR(j["lse"].get<double>(), j["captured_lse"].get<double>(), 1e-4);
    EXPECT_EQ(j["out"].size(), j["site"]["head_dim"].get<size_t>());
    EXPECT_EQ(j["files"].size(), 5u);
    for (const auto& f : j["files"])
        EXPECT_TRUE(std::ifstream(dir.file("w/" + f.get<std::string>())).good()) << f;

    const auto bad = test::run_cli("walkthrough --capture " + dir.file("c.safetensors") +
                                   " --index 2 --kind cross --pixel 64,20 --out " + dir.file("w2"));
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.output.find("bad --pixel 64,20: the image is 64x48"), std::string::npos) << bad.output;
}

} // namespace
} // namespace attnscope
