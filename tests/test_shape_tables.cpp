// The seed's shape tables, reproduced by real forward passes of the full-size models on the CPU.
#include "attention/shape_recorder.h"
#include "model/unet.h"
#include "test_util.h"
#include "util/cpu_threads.h"

#include <map>

namespace attnscope {
namespace {

struct Row {
    std::string q, k, v, p;
};

std::vector<SiteShapes> run_full_size(const UNetConfig& config, int64_t latent) {
    configure_cpu_threads();
    const auto unet = UNet::random(config, 0, at::kFloat, at::kCPU);
    AttentionRouter router;
    router.set_default_backend("math"); // materializes P, so its shape is observed, not implied
    ShapeRecorder rec;
    router.add_observer(&rec);
    at::manual_seed(0);
    const auto out = unet.forward(at::randn({2, 4, latent, latent}), at::tensor({999.0}),
                                  at::randn({2, 77, config.cross_attention_dim}), router);
    EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 4, latent, latent}));
    EXPECT_TRUE(at::isfinite(out).all().item<bool>());
    for (const auto& s : rec.shapes()) EXPECT_TRUE(s.p_materialized) << s.site.label();
    return rec.shapes();
}

void expect_table(const std::vector<SiteShapes>& shapes, AttentionKind kind,
                  const std::map<int, Row>& expected) {
    std::map<int, Row> seen;
    for (const auto& s : shapes)
        if (s.site.kind == kind)
            seen[s.site.index] = {shape_string(s.q), shape_string(s.k), shape_string(s.v), shape_string(s.p)};
    ASSERT_EQ(seen.size(), expected.size());
    for (const auto& [index, row] : expected) {
        SCOPED_TRACE(std::string(to_string(kind)) + " index " + std::to_string(index));
        EXPECT_EQ(seen[index].q, row.q);
        EXPECT_EQ(seen[index].k, row.k);
        EXPECT_EQ(seen[index].v, row.v);
        EXPECT_EQ(seen[index].p, row.p);
    }
}

// Builds the seed's rows: per index the query length and head dim, keys either the same (self) or 77.
std::map<int, Row> table(int64_t bh_by_level[4], const std::map<int, std::pair<int64_t, int64_t>>& seq_dim,
                         bool cross, const std::map<int, int>& level) {
    std::map<int, Row> out;
    for (const auto& [index, sd] : seq_dim) {
        const auto [s, d] = sd;
        const auto bh = std::to_string(bh_by_level[level.at(index)]);
        const std::string kv_len = cross ? "77" : std::to_string(s);
        const auto t = [&](const std::string& len, int64_t dim) {
            return "(" + bh + ", " + len + ", " + std::to_string(dim) + ")";
        };
        out[index] = {t(std::to_string(s), d), t(kv_len, d), t(kv_len, d),
                      t(std::to_string(s), std::stoll(kv_len))};
    }
    return out;
}

const std::map<int, int> kLevel{{1, 0},  {2, 0},  {14, 0}, {15, 0}, {16, 0}, {3, 1}, {4, 1},  {11, 1},
                                {12, 1}, {13, 1}, {5, 2},  {6, 2},  {8, 2},  {9, 2}, {10, 2}, {7, 3}};

TEST(ShapeTables, Sd15At512MatchesTheSeedExactly) {
    const auto shapes = run_full_size(sd15_unet_config(), 64);
    // The seed's tables, row by row (batch 16 = 2 CFG halves x 8 heads).
    const std::map<int, Row> self{
        {1, {"(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 4096)"}},
        {2, {"(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 4096)"}},
        {3, {"(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 1024)"}},
        {4, {"(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 1024)"}},
        {5, {"(16, 256, 160)", "(16, 256, 160)", "(16, 256, 160)", "(16, 256, 256)"}},
        {6, {"(16, 256, 160)", "(16, 256, 160)", "(16, 256, 160)", "(16, 256, 256)"}},
        {7, {"(16, 64, 160)", "(16, 64, 160)", "(16, 64, 160)", "(16, 64, 64)"}},
        {8, {"(16, 256, 160)", "(16, 256, 160)", "(16, 256, 160)", "(16, 256, 256)"}},
        {9, {"(16, 256, 160)", "(16, 256, 160)", "(16, 256, 160)", "(16, 256, 256)"}},
        {10, {"(16, 256, 160)", "(16, 256, 160)", "(16, 256, 160)", "(16, 256, 256)"}},
        {11, {"(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 1024)"}},
        {12, {"(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 1024)"}},
        {13, {"(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 80)", "(16, 1024, 1024)"}},
        {14, {"(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 4096)"}},
        {15, {"(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 4096)"}},
        {16, {"(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 40)", "(16, 4096, 4096)"}},
    };
    const std::map<int, Row> cross{
        {1, {"(16, 4096, 40)", "(16, 77, 40)", "(16, 77, 40)", "(16, 4096, 77)"}},
        {2, {"(16, 4096, 40)", "(16, 77, 40)", "(16, 77, 40)", "(16, 4096, 77)"}},
        {3, {"(16, 1024, 80)", "(16, 77, 80)", "(16, 77, 80)", "(16, 1024, 77)"}},
        {4, {"(16, 1024, 80)", "(16, 77, 80)", "(16, 77, 80)", "(16, 1024, 77)"}},
        {5, {"(16, 256, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 256, 77)"}},
        {6, {"(16, 256, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 256, 77)"}},
        {7, {"(16, 64, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 64, 77)"}},
        {8, {"(16, 256, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 256, 77)"}},
        {9, {"(16, 256, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 256, 77)"}},
        {10, {"(16, 256, 160)", "(16, 77, 160)", "(16, 77, 160)", "(16, 256, 77)"}},
        {11, {"(16, 1024, 80)", "(16, 77, 80)", "(16, 77, 80)", "(16, 1024, 77)"}},
        {12, {"(16, 1024, 80)", "(16, 77, 80)", "(16, 77, 80)", "(16, 1024, 77)"}},
        {13, {"(16, 1024, 80)", "(16, 77, 80)", "(16, 77, 80)", "(16, 1024, 77)"}},
        {14, {"(16, 4096, 40)", "(16, 77, 40)", "(16, 77, 40)", "(16, 4096, 77)"}},
        {15, {"(16, 4096, 40)", "(16, 77, 40)", "(16, 77, 40)", "(16, 4096, 77)"}},
        {16, {"(16, 4096, 40)", "(16, 77, 40)", "(16, 77, 40)", "(16, 4096, 77)"}},
    };
    expect_table(shapes, AttentionKind::Self, self);
    expect_table(shapes, AttentionKind::Cross, cross);
    // The table the CLI prints is built from the same records.
    const auto printed = format_shape_table(shapes, AttentionKind::Self);
    EXPECT_NE(
        printed.find("7     8x8     (16, 64, 160)     (16, 64, 160)     (16, 64, 160)     (16, 64, 64)"),
        std::string::npos)
        << printed;
}

TEST(ShapeTables, Sd21At768) {
    const auto shapes = run_full_size(sd21_unet_config(), 96);
    // head_dim 64 everywhere; 5/10/20/20 heads per level, x2 for guidance; sequences 9216/2304/576/144.
    int64_t bh[4] = {10, 20, 40, 40};
    std::map<int, std::pair<int64_t, int64_t>> seq;
    const int64_t len[4] = {9216, 2304, 576, 144};
    for (const auto& [index, level] : kLevel) seq[index] = {len[level], 64};
    expect_table(shapes, AttentionKind::Self, table(bh, seq, false, kLevel));
    expect_table(shapes, AttentionKind::Cross, table(bh, seq, true, kLevel));
    EXPECT_EQ(table(bh, seq, true, kLevel).at(7).p, "(40, 144, 77)");
}

} // namespace
} // namespace attnscope
