// A U-Net step replayed as a CUDA graph (model/unet_graph.h) gives the eager step's results: forward passes
// of each backend against eager ones (kept when later replays run), a session's every step against diffusers'
// reference and against the same session run eagerly, and the calls a graph must not repeat run eagerly and
// say why.
#include "attention/shape_recorder.h"
#include "capture/capture_store.h"
#include "io/safetensors_file.h"
#include "model/unet_graph.h"
#include "session/session.h"
#include "small_pipeline.h"
#include "test_util.h"
#include "util/tf32.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cstdlib>

namespace attnscope {
namespace {

const std::string kData = ATTNSCOPE_TEST_DATA;

std::shared_ptr<const Pipeline> small_pipeline(at::Device device, at::ScalarType dtype) {
    PipelineOptions options;
    options.dtype = dtype;
    options.device = device;
    return load_pipeline(kData + "/pipeline_v1_small", options);
}

// ATTNSCOPE_CUDA_GRAPHS=0 while it lives.
class GraphsOff {
  public:
    GraphsOff() { ::setenv("ATTNSCOPE_CUDA_GRAPHS", "0", 1); }
    ~GraphsOff() { ::unsetenv("ATTNSCOPE_CUDA_GRAPHS"); }
    GraphsOff(const GraphsOff&) = delete;
    GraphsOff& operator=(const GraphsOff&) = delete;
};

struct Inputs {
    at::Tensor sample, timestep, context;
};

Inputs random_inputs(const UNet& unet, uint64_t seed) {
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto& c = unet.config();
    return {at::randn({2, c.in_channels, 8, 8}, gen).to(unet.device(), unet.dtype()),
            at::tensor(100.0 + 300.0 * static_cast<double>(seed), at::kDouble),
            at::randn({2, 77, c.cross_attention_dim}, gen).to(unet.device(), unet.dtype())};
}

TEST(UNetGraph, RunsEagerlyOnTheCpu) {
    const auto pipeline = small_pipeline(at::kCPU, at::kFloat);
    const auto& unet = pipeline->unet;
    AttentionRouter router;
    UNetGraph graph;
    for (uint64_t seed = 0; seed < 3; ++seed) {
        const auto in = random_inputs(unet, seed);
        const auto out = graph.forward(unet, in.sample, in.timestep, in.context, router);
        EXPECT_FALSE(graph.replayed());
        EXPECT_EQ(graph.why(), "eager: the model runs on the CPU");
        EXPECT_TRUE(out.equal(unet.forward(in.sample, in.timestep, in.context, router)));
    }
}

// The first call of a shape runs eagerly, the second records, every later one replays; each returns what an
// eager forward pass returns for its own inputs (the same kernels: equal but for rounding), and keeps it when
// the next replay runs.
TEST(UNetGraph, ReplaysWhatTheEagerForwardPassComputes) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    const auto pipeline = small_pipeline(at::kCUDA, at::kHalf);
    const auto& unet = pipeline->unet;
    // Our kernels need head dims this small model lacks (flash+graph replays in bench_unet).
    for (const char* backend : {"sdpa", "math"}) {
        AttentionRouter router;
        router.set_default_backend(backend);
        UNetGraph graph;
        std::vector<at::Tensor> outs, expected;
        for (uint64_t seed = 0; seed < 4; ++seed) {
            const auto in = random_inputs(unet, seed);
            outs.push_back(graph.forward(unet, in.sample, in.timestep, in.context, router));
            EXPECT_EQ(graph.replayed(), seed > 0) << backend << " call " << seed << ": " << graph.why();
            expected.push_back(unet.forward(in.sample, in.timestep, in.context, router));
        }
        for (std::size_t i = 0; i < outs.size(); ++i) {
            EXPECT_LT(test::rel_l2(outs[i], expected[i]), 1e-3) << backend << " call " << i;
            EXPECT_GT(test::rel_l2(outs[i], expected[(i + 1) % outs.size()]), 0.1)
                << backend << " call " << i;
        }
    }
}

TEST(UNetGraph, RunsEagerlyWhereAGraphMustNotRepeatTheCall) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    const auto pipeline = small_pipeline(at::kCUDA, at::kHalf);
    const auto& unet = pipeline->unet;
    const auto in = random_inputs(unet, 1);
    const auto thrice = [&](AttentionRouter& router) {
        UNetGraph graph;
        for (int i = 0; i < 3; ++i) graph.forward(unet, in.sample, in.timestep, in.context, router);
        EXPECT_FALSE(graph.replayed());
        return graph.why();
    };
    AttentionRouter watched;
    ShapeRecorder shapes(false);
    watched.add_observer(&shapes);
    EXPECT_EQ(thrice(watched), "eager: an observer (a comparison, a recorder) acts on each call as it runs");
    EXPECT_EQ(shapes.shapes().size(), 32u);

    const GraphsOff off;
    AttentionRouter plain;
    EXPECT_EQ(thrice(plain), "eager: ATTNSCOPE_CUDA_GRAPHS=0");
}

// A session on CUDA in fp32: every step matches diffusers, from the second step on as a replayed graph, and
// the same session run eagerly; with a capture attached it replays too, and captures each step what the eager
// session captures.
TEST(UNetGraph, ASessionReplaysItsStepsAsTheEagerSessionRunsThem) {
    if (!test::has_cuda()) GTEST_SKIP() << "no CUDA device";
    set_tf32(false);
    static const SafetensorsFile reference(kData + "/pipeline_reference.safetensors");
    const auto pipeline = small_pipeline(at::kCUDA, at::kFloat);
    const auto settings = test::reference_settings(reference, SchedulerKind::DDIM);
    Session graphed(pipeline, settings);
    while (!graphed.done()) {
        const auto info = graphed.step();
        EXPECT_EQ(info.cuda_graph, info.index > 0) << "step " << info.index + 1 << ": " << graphed.unet_run();
        const auto ref = reference.load("pipeline_v1_small.ddim.latents." + std::to_string(info.index + 1));
        EXPECT_LT(test::rel_l2(graphed.latents(), ref), 1e-5) << "step " << info.index + 1;
    }
    const auto captured = [&](Session& s, CaptureStore& store, bool replays) {
        s.router().add_observer(&store);
        while (!s.done()) {
            store.begin_step(s.current_step());
            const auto info = s.step();
            EXPECT_EQ(info.cuda_graph, replays && info.index > 0)
                << "step " << info.index + 1 << ": " << s.unet_run();
        }
        s.router().remove_observer(&store);
        EXPECT_LT(test::rel_l2(graphed.latents(), s.latents()), 1e-6);
    };
    CaptureStore eager_store, store;
    {
        const GraphsOff off;
        Session eager(pipeline, settings);
        captured(eager, eager_store, false);
    }
    Session watched(pipeline, settings);
    captured(watched, store, true);
    ASSERT_EQ(store.steps().size(), static_cast<std::size_t>(watched.total_steps()));
    ASSERT_EQ(store.entries().size(), eager_store.entries().size());
    for (const auto& [key, site] : eager_store.entries()) {
        const auto* kept = store.find(key.step, key.index, key.kind);
        ASSERT_NE(kept, nullptr) << "step " << key.step + 1 << " index " << key.index;
        EXPECT_LT(test::rel_l2(kept->q, site.q), 1e-6) << "step " << key.step + 1 << " index " << key.index;
        EXPECT_LT(test::rel_l2(kept->k, site.k), 1e-6) << "step " << key.step + 1 << " index " << key.index;
        EXPECT_LT(test::rel_l2(kept->lse, site.lse), 1e-6)
            << "step " << key.step + 1 << " index " << key.index;
    }
}

} // namespace
} // namespace attnscope
