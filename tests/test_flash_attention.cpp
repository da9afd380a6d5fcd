// Our CUDA kernels (flash, int8, probe) against a float64 reference on every attention shape of SD v1 at
// 512x512 and SD v2 at 768x768 with classifier-free guidance (batch 2). Fresh random inputs each run;
// outputs are filled with NaN first, so an element the kernel never wrote fails the test.
#include "attention/kernel_bridge.h"
#include "attention/probe.h"
#include "attention/router.h"
#include "flash_attention_sm90.h"
#include "model/unet_config.h"
#include "model/unet_layout.h"
#include "test_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <tuple>
#ifdef ATTNSCOPE_HAVE_CUDA
#include <cuda_runtime.h>

namespace attnscope {
namespace {

#define ATTNSCOPE_REQUIRE_CUDA()                                                                             \
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device (or a CPU-only LibTorch): the kernels cannot run"

struct SiteShape {
    int heads, head_dim;
    int64_t seq_q, seq_k;
    std::string sites; // e.g. "v1 self 1,2,14,15,16"
};

// The distinct (heads, head dim, Sq, Sk) of a model's 32 sites, from its config and layout.
std::vector<SiteShape> site_shapes(const std::string& preset, const std::string& tag, int latent) {
    const auto config = unet_config_preset(preset);
    std::map<std::tuple<int, int, int64_t, int64_t>, std::string> shapes;
    for (const auto& t : make_unet_layout(config).transformers()) {
        int side = latent;
        for (int l = 0; l < t.level; ++l) side = (side + 1) / 2;
        for (const bool self : {true, false}) {
            const int64_t sq = int64_t{side} * side, sk = self ? sq : 77;
            auto& label = shapes[{t.heads, t.head_dim(), sq, sk}];
            label += (label.empty() ? tag + (self ? " self " : " cross ") : ",") + std::to_string(t.index);
        }
    }
    std::vector<SiteShape> out;
    for (const auto& [key, label] : shapes)
        out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), label});
    return out;
}

std::vector<SiteShape> all_site_shapes() {
    auto shapes = site_shapes("sd15", "v1", 64);
    for (auto& s : site_shapes("sd21", "v2", 96)) shapes.push_back(std::move(s));
    return shapes;
}

struct Exact {
    at::Tensor out, lse, scores; // float64; scores kept only when asked (scaled)
};

// softmax(scale QK^T)V and the LSE in float64 on the GPU, a few batch*head rows at a time.
Exact reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                bool keep_scores = false) {
    const auto q64 = q.flatten(0, 1).to(at::kDouble), k64 = k.flatten(0, 1).to(at::kDouble),
               v64 = v.flatten(0, 1).to(at::kDouble);
    const int64_t rows = q64.size(0),
                  per = std::max<int64_t>(1, (int64_t{1} << 27) / (q.size(2) * k.size(2)));
    std::vector<at::Tensor> outs, lses, scores;
    for (int64_t r = 0; r < rows; r += per) {
        const int64_t n = std::min(per, rows - r);
        const auto s = at::matmul(q64.narrow(0, r, n), k64.narrow(0, r, n).transpose(-1, -2)) * scale;
        const auto lse = at::logsumexp(s, -1, true);
        outs.push_back(at::matmul(at::exp(s - lse), v64.narrow(0, r, n)));
        lses.push_back(lse.squeeze(-1));
        if (keep_scores) scores.push_back(s);
    }
    return {at::cat(outs).view(q.sizes()), at::cat(lses).view({q.size(0), q.size(1), q.size(2)}),
            keep_scores ? at::cat(scores) : at::Tensor()};
}

struct KernelRun {
    at::Tensor out, lse;
};

enum class Kernel { Flash, Int8 };

// Calls the kernel directly on NaN-filled outputs (the backends allocate theirs uninitialized).
KernelRun run_poisoned(Kernel which, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       double scale) {
    KernelRun r{at::full_like(q, NAN),
                at::full({q.size(0), q.size(1), q.size(2)}, NAN, q.options().dtype(at::kFloat))};
    const auto args = attention_args(q, k, v, r.out, r.lse, scale);
    if (which == Kernel::Flash) {
        kernels::flash_attention_forward(args);
    } else {
        const auto bytes = kernels::int8_attention_workspace_bytes(args);
        auto ws = at::full({static_cast<int64_t>(bytes)}, 0xff, q.options().dtype(at::kByte));
        kernels::int8_attention_forward(args, ws.data_ptr(), bytes);
    }
    return r;
}

bool all_finite(const at::Tensor& t) {
    return at::isfinite(t).all().item<bool>();
}

double max_abs(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// An observer that keeps the LSE, as the capture does, and holds on to the last one it was given.
struct LseKeeper : AttentionObserver {
    void on_attention(const AttentionSite&, const AttentionTensors& t) override { lse = t.lse; }
    bool wants_lse() const override { return true; }
    at::Tensor lse;
};

// Flash: rel. L2 on O <= 5e-3 and |LSE error| <= 1e-3 on every shape in fp16 and bf16; int8 reported
// (its error is the point of showing it), O held to 5e-2; no NaN or Inf anywhere.
TEST(FlashAttention, AllSdSiteShapesMatchFloat64) {
    ATTNSCOPE_REQUIRE_CUDA();
    at::manual_seed(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::printf("%-32s %-4s %5s %-13s %-13s %9s %9s %9s %9s\n", "sites", "type", "heads", "d  Sq", "Sk",
                "flash L2", "flash lse", "int8 L2", "int8 lse");
    double worst[2][4] = {};
    for (const auto& s : all_site_shapes()) {
        const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kFloat);
        const auto q = at::randn({2, s.heads, s.seq_q, s.head_dim}, opts),
                   k = at::randn({2, s.heads, s.seq_k, s.head_dim}, opts),
                   v = at::randn({2, s.heads, s.seq_k, s.head_dim}, opts);
        const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
        for (const auto dtype : {at::kHalf, at::kBFloat16}) {
            const auto qh = q.to(dtype), kh = k.to(dtype), vh = v.to(dtype);
            const auto exact = reference(qh, kh, vh, scale);
            const auto flash = run_poisoned(Kernel::Flash, qh, kh, vh, scale);
            const auto int8 = run_poisoned(Kernel::Int8, qh, kh, vh, scale);
            const bool bf = dtype == at::kBFloat16;
            const double e[4] = {test::rel_l2(flash.out, exact.out), max_abs(flash.lse, exact.lse),
                                 test::rel_l2(int8.out, exact.out), max_abs(int8.lse, exact.lse)};
            std::printf("%-32s %-4s %5d %3d %-9lld %-13lld %9.2e %9.2e %9.2e %9.2e\n", s.sites.c_str(),
                        bf ? "bf16" : "f16", s.heads, s.head_dim, static_cast<long long>(s.seq_q),
                        static_cast<long long>(s.seq_k), e[0], e[1], e[2], e[3]);
            for (int i = 0; i < 4; ++i) worst[bf][i] = std::max(worst[bf][i], e[i]);
            EXPECT_TRUE(all_finite(flash.out) && all_finite(flash.lse))
                << s.sites << " flash: NaN/Inf or unwritten";
            EXPECT_TRUE(all_finite(int8.out) && all_finite(int8.lse))
                << s.sites << " int8: NaN/Inf or unwritten";
            EXPECT_LT(e[0], 5e-3) << s.sites;
            EXPECT_LT(e[1], 1e-3) << s.sites;
            EXPECT_LT(e[2], 5e-2) << s.sites;
        }
    }
    for (int bf = 0; bf < 2; ++bf)
        std::printf("worst %s: flash rel L2 %.2e, LSE %.2e; int8 rel L2 %.2e, LSE %.2e\n",
                    bf ? "bf16" : "f16", worst[bf][0], worst[bf][1], worst[bf][2], worst[bf][3]);
}

// Sequence lengths that are no multiple of any tile, and strided (non-contiguous) inputs via the router.
TEST(FlashAttention, RaggedLengthsAndTheRouter) {
    ATTNSCOPE_REQUIRE_CUDA();
    at::manual_seed(21);
    const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
    for (const auto& [sq, sk, d] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {1, 1, 40}, {17, 77, 80}, {100, 130, 64}, {333, 65, 160}, {64, 9216, 40}}) {
        const auto q = at::randn({1, 3, sq, d}, opts), k = at::randn({1, 3, sk, d}, opts),
                   v = at::randn({1, 3, sk, d}, opts);
        const auto exact = reference(q, k, v, 0.3);
        const auto flash = run_poisoned(Kernel::Flash, q, k, v, 0.3);
        EXPECT_LT(test::rel_l2(flash.out, exact.out), 5e-3) << sq << "x" << sk << " d" << d;
        EXPECT_LT(max_abs(flash.lse, exact.lse), 1e-3) << sq << "x" << sk << " d" << d;
        const auto int8 = run_poisoned(Kernel::Int8, q, k, v, 0.3);
        EXPECT_LT(test::rel_l2(int8.out, exact.out), 5e-2) << sq << "x" << sk << " d" << d;
    }
    // (B, S, heads, d) storage seen as (B, heads, S, d): the backend makes it contiguous itself.
    const auto x = at::randn({2, 200, 8, 40}, opts).transpose(1, 2);
    AttentionSite site;
    site.index = 1;
    site.heads = 8;
    site.head_dim = 40;
    AttentionRouter router;
    const auto o = router.attention_forward(x, x, x, site);
    // auto on the GPU: the faster fused backend for this shape, as measured (or read from the timing cache).
    const auto used = router.last_used().at({1, AttentionKind::Self});
    EXPECT_TRUE(used == "flash" || used == "sdpa") << used;
    const auto why = router.last_why().at({1, AttentionKind::Self});
    EXPECT_EQ(why.rfind("measured: flash ", 0), 0u) << why;
    EXPECT_NE(why.find(", sdpa "), std::string::npos) << why;
    EXPECT_LT(test::rel_l2(o, reference(x, x, x, site.scale()).out), 5e-3);
    // With an observer that keeps the LSE (the capture), the faster of the backends that return it, and its
    // LSE reaches the observer.
    LseKeeper keeps_lse;
    router.add_observer(&keeps_lse);
    router.attention_forward(x, x, x, site);
    EXPECT_TRUE(router.backend(router.last_used().at({1, AttentionKind::Self})).returns_lse());
    ASSERT_TRUE(keeps_lse.lse.defined());
    EXPECT_LT(max_abs(keeps_lse.lse.reshape({2, 8, 200}), reference(x, x, x, site.scale()).lse), 1e-3);
    router.remove_observer(&keeps_lse);
}

// LibTorch's SDPA, asked for the LSE by the capture, returns it from whichever of its kernels it picks
// (cuDNN, FlashAttention-2, memory-efficient), at every SD head dim, against float64.
TEST(FlashAttention, SdpaGivesTheCaptureItsLse) {
    ATTNSCOPE_REQUIRE_CUDA();
    AttentionRouter router;
    if (!router.backend("sdpa").returns_lse())
        GTEST_SKIP() << "this LibTorch's SDPA returns no LSE (before 2.5)";
    router.set_default_backend("sdpa");
    LseKeeper keeps_lse;
    router.add_observer(&keeps_lse);
    at::manual_seed(22);
    for (const auto dtype : {at::kHalf, at::kBFloat16})
        for (const auto& [sq, sk, d] : std::vector<std::tuple<int64_t, int64_t, int>>{{4096, 77, 40},
                                                                                      {1000, 1000, 40},
                                                                                      {333, 77, 64},
                                                                                      {256, 256, 80},
                                                                                      {64, 64, 160},
                                                                                      {100, 77, 160}}) {
            const auto opts = at::TensorOptions().device(at::kCUDA).dtype(dtype);
            const int heads = 4;
            // (B, S, heads, d) storage seen as (B, heads, S, d), as the U-Net hands its heads over.
            const auto q = at::randn({2, sq, heads, d}, opts).transpose(1, 2),
                       k = at::randn({2, sk, heads, d}, opts).transpose(1, 2),
                       v = at::randn({2, sk, heads, d}, opts).transpose(1, 2);
            AttentionSite site;
            site.index = 1;
            site.heads = heads;
            site.head_dim = d;
            keeps_lse.lse = at::Tensor();
            const auto o = router.attention_forward(q, k, v, site);
            const auto exact = reference(q, k, v, site.scale());
            const auto label = std::to_string(sq) + "x" + std::to_string(sk) + " d" + std::to_string(d) +
                               " " + std::string(c10::toString(dtype));
            EXPECT_LT(test::rel_l2(o, exact.out), 1e-2) << label;
            ASSERT_TRUE(keeps_lse.lse.defined()) << label;
            EXPECT_EQ(keeps_lse.lse.scalar_type(), at::kFloat) << label;
            EXPECT_LT(max_abs(keeps_lse.lse.reshape({2, heads, sq}), exact.lse), 2e-3) << label;
        }
}

TEST(FlashAttention, RouterChoosesAndExplains) {
    ATTNSCOPE_REQUIRE_CUDA();
    const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
    AttentionSite site;
    site.index = 4;
    site.heads = 2;
    site.head_dim = 72;
    const auto odd = at::randn({1, 2, 32, 72}, opts);
    AttentionRouter router;
    router.attention_forward(odd, odd, odd, site);
    EXPECT_EQ(router.last_used().at({4, AttentionKind::Self}), "sdpa"); // head dim 72: ours cannot
    EXPECT_EQ(router.last_why().at({4, AttentionKind::Self}), "the only fused backend that runs it");
    router.set_default_backend("flash");
    ATTNSCOPE_EXPECT_THROW_WITH(
        router.attention_forward(odd, odd, odd, site), std::invalid_argument,
        "'flash' cannot run index 4 self 0x0: head dim 72 is not one of 40, 64, 80, 160");
    ATTNSCOPE_EXPECT_THROW_WITH(router.attention_forward(odd.to(at::kFloat), odd, odd, site),
                                std::invalid_argument, "needs fp16 or bf16 (got Float)");
}

// The probe from flash's LSE: rows sum to 1, maps equal float64 P and the math backend's P.
TEST(AttentionProbe, MapsFromFlashLseEqualP) {
    ATTNSCOPE_REQUIRE_CUDA();
    at::manual_seed(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kHalf);
    for (const int64_t sk : {int64_t{4096}, int64_t{77}}) { // index 1 self and cross of SD v1
        const auto q = at::randn({2, 8, 4096, 40}, opts), k = at::randn({2, 8, sk, 40}, opts),
                   v = at::randn({2, 8, sk, 40}, opts);
        const double scale = 1.0 / std::sqrt(40.0);
        const auto flash = run_poisoned(Kernel::Flash, q, k, v, scale);
        const ProbeInputs in{q.flatten(0, 1), k.flatten(0, 1), flash.lse.flatten(0, 1), 8, scale};
        const auto p = at::softmax(reference(q, k, v, scale, true).scores, -1).view({2, 8, 4096, sk});
        AttentionRouter router;
        router.set_default_backend("math");
        struct : AttentionObserver {
            at::Tensor probs;
            void on_attention(const AttentionSite&, const AttentionTensors& t) override { probs = t.probs; }
            bool wants_probs() const override { return true; }
        } keep;
        router.add_observer(&keep);
        AttentionSite site;
        site.heads = 8;
        site.head_dim = 40;
        router.attention_forward(q, k, v, site);
        const auto math_p = keep.probs.view({2, 8, 4096, sk});

        const auto row = probe_map(in, {ProbeAxis::QueryRow, 1, 1, HeadReduction::Single, 5});
        EXPECT_NEAR(row.sum().item<float>(), 1.0f, 1e-3);
        EXPECT_LT(test::rel_l2(row, p[1][5][1]), 1e-3);
        // The math backend's fp16 P carries its own fp16 QK^T rounding (seen up to 2.8e-3): the fp16 bar.
        EXPECT_LT(test::rel_l2(row, math_p[1][5][1]), 5e-3);
        const auto mean_row = probe_map(in, {ProbeAxis::QueryRow, 1, 0, HeadReduction::Mean, 0});
        EXPECT_NEAR(mean_row.sum().item<float>(), 1.0f, 1e-3);
        EXPECT_LT(test::rel_l2(mean_row, p[0].select(1, 1).mean(0)), 1e-3);
        const auto column = probe_map(in, {ProbeAxis::KeyColumn, 1, 0, HeadReduction::Single, 3});
        EXPECT_LT(test::rel_l2(column, p[0][3].select(1, 1)), 1e-3);
        EXPECT_LT(test::rel_l2(column, math_p[0][3].select(1, 1)), 5e-3);
        const auto max = probe_map(in, {ProbeAxis::KeyColumn, 1, 1, HeadReduction::Max, 0});
        EXPECT_LT(test::rel_l2(max, std::get<0>(p[1].select(2, 1).max(0))), 1e-3);
        // Every row of one head, reconstructed one query row at a time for a few queries.
        for (const int64_t i : {int64_t{0}, int64_t{2049}, int64_t{4095}}) {
            const auto r = probe_map(in, {ProbeAxis::QueryRow, i, 1, HeadReduction::Single, 7});
            EXPECT_NEAR(r.sum().item<float>(), 1.0f, 1e-3) << "query " << i;
        }
    }
}

// Straight into a CUDA surface, as the GL interop will map textures: R32F equals the buffer map, RGBA8 is
// its gray-scale image.
TEST(AttentionProbe, WritesSurfaces) {
    ATTNSCOPE_REQUIRE_CUDA();
    at::manual_seed(22);
    const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
    const int h = 32, w = 32;
    const auto q = at::randn({2, 8, h * w, 80}, opts), k = at::randn({2, 8, 77, 80}, opts);
    const auto lse = reference(q, k, k, 1.0 / std::sqrt(80.0)).lse.to(at::kFloat);
    const ProbeInputs in{q.flatten(0, 1), k.flatten(0, 1), lse.flatten(0, 1), 8, 1.0 / std::sqrt(80.0)};
    const ProbeSelection sel{ProbeAxis::KeyColumn, 1, 1, HeadReduction::Mean, 0};
    const auto expected = probe_map(in, sel).cpu().view({h, w});

    for (const auto format : {SurfaceFormat::R32F, SurfaceFormat::RGBA8}) {
        const bool f32 = format == SurfaceFormat::R32F;
        const auto desc = f32 ? cudaCreateChannelDesc<float>() : cudaCreateChannelDesc<uchar4>();
        cudaArray_t array = nullptr;
        ASSERT_EQ(cudaMallocArray(&array, &desc, w, h, cudaArraySurfaceLoadStore), cudaSuccess);
        cudaResourceDesc res{};
        res.resType = cudaResourceTypeArray;
        res.res.array.array = array;
        cudaSurfaceObject_t surface = 0;
        ASSERT_EQ(cudaCreateSurfaceObject(&surface, &res), cudaSuccess);
        const float gain = 4.0f * h * w / 77.0f;
        probe_map_to_surface(in, sel, {surface, format, w, h, gain});
        ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
        const std::size_t px = f32 ? sizeof(float) : 4;
        auto host = at::empty({h, w, static_cast<int64_t>(px)}, at::kByte);
        ASSERT_EQ(
            cudaMemcpy2DFromArray(host.data_ptr(), w * px, array, 0, 0, w * px, h, cudaMemcpyDeviceToHost),
            cudaSuccess);
        if (f32) {
            EXPECT_TRUE(at::equal(host.view(at::kFloat).view({h, w}), expected));
        } else {
            const auto gray = (expected * gain).clamp(0, 1).mul(255).round().to(at::kByte);
            EXPECT_TRUE(at::equal(host.select(2, 0), gray));
            EXPECT_TRUE((host.select(2, 3) == 255).all().item<bool>());
        }
        cudaDestroySurfaceObject(surface);
        cudaFreeArray(array);
    }
}

// Sets an environment variable for one scope (the kernels read their policy from it on every call).
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old, had_ = true;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::string old_;
    bool had_ = false;
};

// The wgmma (sm_90a) path (ATTNSCOPE_FLASH_SM90=force runs the other flash tests on it too, wherever it
// covers the shape; by default they take it from 512 keys on). Forced onto lengths that
// are no multiple of its tiles (128 queries, 96 or 128 keys), single rows and keys, padded row strides, in
// both element types. Each case prints its errors; a failing one also prints which query rows are wrong,
// so that one device run tells a tail bug (last rows or last key block) from a layout bug (every row, or
// rows of one warp).
TEST(FlashAttentionSm90, ForcedWgmmaPathMatchesFloat64) {
    ATTNSCOPE_REQUIRE_CUDA();
    if (const auto why = kernels::flash_sm90_unavailable_reason(); !why.empty())
        GTEST_SKIP() << "the wgmma path cannot run here: " << why;
    ScopedEnv force("ATTNSCOPE_FLASH_SM90", "force");
    at::manual_seed(90);
    std::printf("%-5s %3s %6s %6s %6s %9s %9s %9s\n", "type", "d", "Sq", "Sk", "pitch", "rel L2", "lse err",
                "vs mma");
    for (const auto dtype : {at::kHalf, at::kBFloat16})
        for (const int d : {40, 64, 80})
            for (const auto& [sq, sk, pad] : std::vector<std::tuple<int64_t, int64_t, int>>{
                     {64, 77, 0}, {1, 1, 0}, {130, 200, 8}, {128, 96, 0}, {257, 1029, 0}, {1000, 4099, 16}}) {
                const auto opts = at::TensorOptions().device(at::kCUDA).dtype(dtype);
                const auto make = [&](int64_t rows) {
                    return at::randn({1, 3, rows, d + pad}, opts).narrow(3, 0, d);
                };
                const auto q = make(sq), k = make(sk), v = make(sk);
                const auto exact = reference(q, k, v, 1.0 / std::sqrt(double(d)));
                const auto flash = run_poisoned(Kernel::Flash, q, k, v, 1.0 / std::sqrt(double(d)));
                at::Tensor mma;
                {
                    ScopedEnv off("ATTNSCOPE_FLASH_SM90", "off");
                    mma = run_poisoned(Kernel::Flash, q, k, v, 1.0 / std::sqrt(double(d))).out;
                }
                const double l2 = test::rel_l2(flash.out, exact.out), lse = max_abs(flash.lse, exact.lse),
                             vs_mma = test::rel_l2(flash.out, mma);
                const bool bf = dtype == at::kBFloat16;
                std::printf("%-5s %3d %6lld %6lld %6d %9.2e %9.2e %9.2e\n", bf ? "bf16" : "f16", d,
                            static_cast<long long>(sq), static_cast<long long>(sk), d + pad, l2, lse, vs_mma);
                const bool finite = all_finite(flash.out) && all_finite(flash.lse);
                EXPECT_TRUE(finite) << "NaN/Inf or unwritten: d " << d << " " << sq << "x" << sk;
                EXPECT_LT(l2, 5e-3) << "d " << d << " " << sq << "x" << sk;
                EXPECT_LT(lse, 1e-3) << "d " << d << " " << sq << "x" << sk;
                if (finite && l2 < 5e-3 && lse < 1e-3) continue;
                const auto diff = flash.out.to(at::kDouble) - exact.out;
                const auto row_err = (diff.norm(2, {-1}) / exact.out.norm(2, {-1})).flatten().cpu();
                const auto lse_err = (flash.lse.to(at::kDouble) - exact.lse).abs().flatten().cpu();
                const auto bad =
                    at::nonzero((row_err.isnan() | (row_err > 1e-2)) | (lse_err.isnan() | (lse_err > 1e-3)))
                        .flatten();
                std::printf("    %lld of %lld rows wrong; first (bh, row: O err, lse err):",
                            static_cast<long long>(bad.numel()), static_cast<long long>(row_err.numel()));
                for (int64_t i = 0; i < std::min<int64_t>(bad.numel(), 12); ++i) {
                    const int64_t r = bad[i].item<int64_t>();
                    std::printf(" (%lld, %lld: %.2e, %.2e)", static_cast<long long>(r / sq),
                                static_cast<long long>(r % sq), row_err[r].item<double>(),
                                lse_err[r].item<double>());
                }
                std::printf("\n    column errors of the first bad row:");
                if (bad.numel() > 0) {
                    const int64_t r = bad[0].item<int64_t>();
                    const auto col = diff.flatten(0, 2)[r].abs().cpu();
                    for (int c = 0; c < d; c += 8)
                        std::printf(" %.1e", col.narrow(0, c, 8).max().item<double>());
                }
                std::printf("\n");
            }
}

} // namespace
} // namespace attnscope
#endif
