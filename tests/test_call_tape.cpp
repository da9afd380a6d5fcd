// A forward pass's calls kept on a CallTape (attention/call_tape.h) and shown afterwards give an observer
// what it gets when it watches the pass itself; observers that must see each call as it runs are named.
#include "attention/call_tape.h"
#include "attention/probs_recorder.h"
#include "attention/shape_recorder.h"
#include "capture/capture_store.h"
#include "small_pipeline.h"
#include "test_util.h"

#include <ATen/CPUGeneratorImpl.h>

namespace attnscope {
namespace {

const std::string kData = ATTNSCOPE_TEST_DATA;

// Stands for a replay that writes the next pass's values into the tape's memory.
class Overwriter final : public AttentionObserver {
  public:
    void on_attention(const AttentionSite&, const AttentionTensors& t) override {
        transient_calls += t.transient;
        for (const auto& x : {t.q, t.k, t.v, t.out, t.lse, t.hidden})
            if (x.defined()) x.zero_();
    }
    int transient_calls = 0;
};

TEST(CallTape, ShowsAnObserverWhatWatchingThePassShowsIt) {
    PipelineOptions options;
    options.dtype = at::kFloat;
    options.device = at::kCPU;
    const auto pipeline = load_pipeline(kData + "/pipeline_v1_small", options);
    const auto& unet = pipeline->unet;
    const auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    const auto sample = at::randn({2, unet.config().in_channels, 8, 8}, gen);
    const auto context = at::randn({2, 77, unet.config().cross_attention_dim}, gen);
    const auto timestep = at::tensor(500.0, at::kDouble);

    CaptureStore watching;
    AttentionRouter direct;
    direct.add_observer(&watching);
    unet.forward(sample, timestep, context, direct);

    CaptureStore later;
    CallTape tape(direct.observers_keep_lse());
    EXPECT_TRUE(tape.wants_lse());
    AttentionRouter taped;
    taped.add_observer(&tape);
    unet.forward(sample, timestep, context, taped);
    EXPECT_EQ(later.entries().size(), 0u);
    tape.play({&later});

    ASSERT_EQ(tape.size(), 32u);
    ASSERT_EQ(later.entries().size(), watching.entries().size());
    for (const auto& [key, site] : watching.entries()) {
        const auto* kept = later.find(key.step, key.index, key.kind);
        ASSERT_NE(kept, nullptr) << key.index;
        EXPECT_TRUE(kept->q.equal(site.q)) << key.index;
        EXPECT_TRUE(kept->k.equal(site.k)) << key.index;
        EXPECT_TRUE(kept->lse.equal(site.lse)) << key.index;
    }
    // Shown as transient, the store copies: the next replay overwriting the tape's tensors (here: zeroing
    // them) leaves its capture as it was.
    Overwriter next_replay;
    tape.play({&next_replay});
    EXPECT_EQ(next_replay.transient_calls, 32);
    for (const auto& [key, site] : watching.entries()) {
        EXPECT_TRUE(later.find(key.step, key.index, key.kind)->q.equal(site.q)) << key.index;
        EXPECT_GT(site.q.abs().max().item<float>(), 0.f);
    }
}

TEST(CallTape, NamesObserversThatCannotWaitForThePassToEnd) {
    CaptureStore store;
    ShapeRecorder shapes(false);
    ProbsRecorder probs;
    EXPECT_EQ(CallTape::cannot_wait({&store}), "");
    EXPECT_EQ(CallTape::cannot_wait({}), "");
    EXPECT_EQ(CallTape::cannot_wait({&store, &shapes}),
              "an observer (a comparison, a recorder) acts on each call as it runs");
    EXPECT_EQ(CallTape::cannot_wait({&probs}), "an observer wants P, which only the eager pass materializes");
    AttentionRouter router;
    router.add_observer(&shapes);
    EXPECT_FALSE(router.observers_keep_lse());
    router.add_observer(&store);
    EXPECT_TRUE(router.observers_keep_lse());
}

} // namespace
} // namespace attnscope
