// Below the probabilities, on a capture of the small fixture pipeline (2 guided steps on the CPU): score maps
// are scale q.k of the chosen column or row, entropy maps each query row's -sum p ln p, the guidance split is
// cond minus uncond, and the token mass table splits every call's attention into shares that sum to 1 — each
// against float64 recomputation from the captured Q and K alone.
#include "capture/attention_maps.h"
#include "capture/token_mass_table.h"
#include "test_compare_fixtures.h"

#include <cmath>
#include <sstream>

namespace attnscope {
namespace {

class MapQuantities : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        session_ = std::make_unique<Session>(test::small_pipeline(), test::small_settings(2));
        session_->router().set_default_backend("math");
        session_->router().add_observer(&store_);
        for (int step : {0, 1}) {
            store_.begin_step(step);
            session_->step();
        }
    }
    static void TearDownTestSuite() {
        session_.reset();
        store_.clear();
    }

    static const CapturedSite& site(int step, int index, AttentionKind kind) {
        const auto* c = store_.find(step, index, kind);
        if (!c) throw std::out_of_range("not captured");
        return *c;
    }
    // scale q.k^T of every head of one batch item, (heads, Sq, Sk) in float64.
    static at::Tensor scores(const CapturedSite& c, int batch) {
        const int h = c.site.heads;
        const auto q = c.q.narrow(0, batch * h, h).to(at::kDouble),
                   k = c.k.narrow(0, batch * h, h).to(at::kDouble);
        return at::matmul(q, k.transpose(1, 2)) / std::sqrt(double(q.size(2)));
    }
    static at::Tensor probs(const CapturedSite& c, int batch) { return at::softmax(scores(c, batch), 2); }
    static at::Tensor entropy(const CapturedSite& c, int batch) { // (heads, Sq)
        const auto p = probs(c, batch);
        return -(p * p.log()).sum(2);
    }
    static at::Tensor reduce(const at::Tensor& per_head, HeadReduction r, int head) {
        return r == HeadReduction::Single ? per_head[head]
               : r == HeadReduction::Max  ? at::amax(per_head, 0)
                                          : per_head.mean(0);
    }
    static MapRequest request(int step, int index, AttentionKind kind, MapQuantity quantity) {
        MapRequest r;
        r.steps = {step};
        r.indices = {index};
        r.kind = kind;
        r.quantity = quantity;
        r.tokens = {2, 3};
        r.query_x = 0.7;
        r.query_y = 0.2;
        return r;
    }

    static std::unique_ptr<Session> session_;
    static CaptureStore store_;
};
std::unique_ptr<Session> MapQuantities::session_;
CaptureStore MapQuantities::store_;

constexpr HeadReduction kReductions[] = {HeadReduction::Single, HeadReduction::Mean, HeadReduction::Max};

// Within fp32 rounding of values the size of `magnitude`'s (the expected map's own by default; a difference's
// operands' where it cancels).
void expect_close(const at::Tensor& got, const at::Tensor& expected, const std::string& what,
                  double magnitude = 0) {
    ASSERT_EQ(got.sizes(), expected.sizes()) << what;
    const double scale = std::max(magnitude, expected.abs().max().item<double>());
    EXPECT_LE((got.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>(),
              1e-5 * scale + 1e-9)
        << what;
}

TEST_F(MapQuantities, ScoresAreTheScaledLogitsOfTheChosenColumnOrRow) {
    for (int index = 1; index <= 16; ++index)
        for (const auto reduction : kReductions) {
            const auto& cross = site(1, index, AttentionKind::Cross);
            const int hh = cross.site.height, ww = cross.site.width;
            auto r = request(1, index, AttentionKind::Cross, MapQuantity::Score);
            r.heads = reduction;
            r.head = cross.site.heads - 1;
            const auto s = scores(cross, 1);
            const auto columns = s.select(2, 2) + s.select(2, 3); // the tokens' logits, summed
            expect_close(attention_map(store_, r), reduce(columns, reduction, r.head).reshape({hh, ww}),
                         "cross score at index " + std::to_string(index));

            const auto& self = site(1, index, AttentionKind::Self);
            r.kind = AttentionKind::Self;
            r.batch = 0;
            const int64_t row = static_cast<int64_t>(0.2 * hh) * ww + static_cast<int64_t>(0.7 * ww);
            expect_close(attention_map(store_, r),
                         reduce(scores(self, 0).select(1, row), reduction, r.head).reshape({hh, ww}),
                         "self score at index " + std::to_string(index));
        }
}

TEST_F(MapQuantities, EntropyIsEachQueryRowsEntropyInNats) {
    for (int index = 1; index <= 16; ++index)
        for (const auto kind : {AttentionKind::Cross, AttentionKind::Self})
            for (const auto reduction : kReductions) {
                const auto& c = site(0, index, kind);
                auto r = request(0, index, kind, MapQuantity::Entropy);
                r.heads = reduction;
                r.head = 1;
                const auto expected =
                    reduce(entropy(c, 1), reduction, 1).reshape({c.site.height, c.site.width});
                const auto map = attention_map(store_, r);
                expect_close(map, expected, c.site.label());
                EXPECT_GE(map.min().item<double>(), -1e-5) << c.site.label();
                EXPECT_LE(map.max().item<double>(), std::log(double(c.site.seq_k)) + 1e-5) << c.site.label();
            }
}

TEST(RowEntropy, WorksABlockOfQueriesAtATime) {
    // 2^24 scores a block: one row of 16384 keys makes 1024 queries a block, so 1100 queries take two. The
    // reference, in float64, is the queries on either side of the seam.
    at::manual_seed(3);
    const auto q = at::randn({1, 1100, 8}), k = at::randn({1, 16384, 8});
    const double scale = 0.35;
    const auto lse = row_logsumexp(q, k, scale);
    const auto s =
        at::matmul(q.narrow(1, 1000, 100).to(at::kDouble), k.to(at::kDouble).transpose(1, 2)) * scale;
    const auto p = at::softmax(s, 2);
    const auto expected = -(p * p.log()).sum(2);
    const auto h = row_entropy(q, k, lse, scale);
    EXPECT_EQ(h.scalar_type(), at::kFloat);
    ASSERT_EQ(h.sizes(), (at::IntArrayRef{1, 1100}));
    expect_close(h.narrow(1, 1000, 100), expected, "blockwise entropy");
    // fp64 in, fp64 out.
    const auto h64 =
        row_entropy(q.narrow(1, 1000, 100).to(at::kDouble), k.to(at::kDouble), at::logsumexp(s, 2), scale);
    EXPECT_EQ(h64.scalar_type(), at::kDouble);
    EXPECT_LT((h64 - expected).abs().max().item<double>(), 1e-12);
}

TEST_F(MapQuantities, TheGuidanceSplitIsCondMinusUncond) {
    // By hand for one head of one site: the tokens' P in the prompt's half minus the negative prompt's.
    const auto& c = site(0, 4, AttentionKind::Cross);
    auto r = request(0, 4, AttentionKind::Cross, MapQuantity::Probability);
    r.batch_view = BatchView::CondMinusUncond;
    r.heads = HeadReduction::Single;
    r.head = 2;
    const auto p_cond = probs(c, 1)[2], p_uncond = probs(c, 0)[2];
    expect_close(
        attention_map(store_, r),
        ((p_cond.select(1, 2) + p_cond.select(1, 3)) - (p_uncond.select(1, 2) + p_uncond.select(1, 3)))
            .reshape({c.site.height, c.site.width}),
        "P of tokens 2 and 3, cond - uncond");

    // Every quantity and kind, over several sites and steps: the difference of the two halves' maps.
    for (const auto quantity : {MapQuantity::Probability, MapQuantity::Score, MapQuantity::Entropy})
        for (const auto kind : {AttentionKind::Cross, AttentionKind::Self}) {
            auto all = request(0, 1, kind, quantity);
            all.steps = {0, 1};
            all.indices = {1, 7, 16};
            all.out_width = all.out_height = 32;
            all.batch_view = BatchView::CondMinusUncond;
            auto cond = all, uncond = all;
            cond.batch_view = uncond.batch_view = BatchView::Item;
            uncond.batch = 0;
            const auto a = attention_map(store_, cond), b = attention_map(store_, uncond);
            expect_close(attention_map(store_, all), a - b,
                         std::string(to_string(quantity)) + " " + to_string(kind),
                         std::max(a.abs().max().item<double>(), b.abs().max().item<double>()));
        }
}

TEST(GuidanceSplit, NeedsBothHalves) {
    CapturePolicy policy;
    policy.budget_bytes = 1 << 20;
    CaptureStore store(policy);
    CapturedSite c;
    c.site = test::site_for(3, AttentionKind::Self, at::zeros({1, 2, 4, 8}), at::zeros({1, 2, 4, 8}));
    c.q = c.k = at::randn({2, 4, 8});
    c.lse = row_logsumexp(c.q, c.k, c.site.scale());
    store.insert({0, 3, AttentionKind::Self}, c);
    MapRequest r;
    r.steps = {0};
    r.indices = {3};
    r.kind = AttentionKind::Self;
    r.quantity = MapQuantity::Entropy;
    EXPECT_EQ(attention_map(store, r).sizes(), (at::IntArrayRef{1, 4}));
    r.batch_view = BatchView::CondMinusUncond;
    ATTNSCOPE_EXPECT_THROW_WITH(
        attention_map(store, r), std::invalid_argument,
        "the guidance split (cond - uncond) needs both halves of a guided batch; index 3 "
        "self 1x4 has 1 batch item");
}

TEST_F(MapQuantities, SeveralSitesAverageScoresAndEntropiesButSumProbabilities) {
    for (const auto quantity : {MapQuantity::Probability, MapQuantity::Score, MapQuantity::Entropy}) {
        auto all = request(1, 1, AttentionKind::Cross, quantity);
        all.out_width = 40;
        all.out_height = 24;
        at::Tensor sum = at::zeros({24, 40});
        for (int index = 1; index <= 16; ++index) {
            all.indices = {index};
            sum += attention_map(store_, all);
            all.indices.clear();
        }
        for (int index = 1; index <= 16; ++index) all.indices.push_back(index);
        const auto expected = quantity == MapQuantity::Probability ? sum : sum / 16;
        expect_close(attention_map(store_, all), expected, to_string(quantity));
    }
}

TEST_F(MapQuantities, TheTokenMassTableSplitsEveryCallInBothHalves) {
    const int prompt = session_->prompt_tokens().length, negative = session_->negative_tokens().length;
    ASSERT_EQ(negative, 3); // start, "blurry", end
    const auto rows = token_mass_table(store_, prompt, negative);
    ASSERT_EQ(rows.size(), 32u); // 2 steps x 16 sites
    for (const auto& row : rows) {
        ASSERT_TRUE(row.uncond.has_value());
        const auto& c = site(row.step, row.index, AttentionKind::Cross);
        for (const int batch : {1, 0}) {
            const auto& m = batch == 1 ? row.cond : *row.uncond;
            const int length = batch == 1 ? prompt : negative;
            EXPECT_NEAR(m.start + m.prompt + m.end + m.padding, 1.0, 1e-6);
            const auto share = probs(c, batch).mean(at::IntArrayRef{0, 1}); // (77): over heads and queries
            EXPECT_NEAR(m.start, share[0].item<double>(), 1e-6);
            EXPECT_NEAR(m.prompt, share.narrow(0, 1, length - 2).sum().item<double>(), 1e-6);
            EXPECT_NEAR(m.end, share[length - 1].item<double>(), 1e-6);
            EXPECT_NEAR(m.padding, share.narrow(0, length, 77 - length).sum().item<double>(), 1e-6);
        }
    }
    EXPECT_EQ(rows.front().step, 0);
    EXPECT_EQ(rows.front().index, 1);
    EXPECT_EQ(rows.back().step, 1);
    EXPECT_EQ(rows.back().index, 16);

    const auto j = token_mass_json(rows);
    EXPECT_EQ(j["rows"].size(), 32u);
    EXPECT_EQ(j["rows"][0]["step"], 1); // counted from 1, as the command line shows steps
    EXPECT_EQ(j["rows"][0]["cond"]["end"].get<double>(), rows[0].cond.end);
    std::istringstream csv(token_mass_csv(rows));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "step,index,half,start,prompt,end,padding");
    int lines = 0;
    while (std::getline(csv, line)) ++lines;
    EXPECT_EQ(lines, 64); // a line per call and half
    ATTNSCOPE_EXPECT_THROW_WITH(token_mass_table(CaptureStore{}, prompt, negative), std::invalid_argument,
                                "the capture holds none");
}

} // namespace
} // namespace attnscope
