// A forward pass's calls kept on a CallTape (attention/call_tape.h) and shown afterwards give an observer
// what it gets when it watches the pass itself; observers that must see each call as it runs are named.
#include "attention/call_tape.h"
#include "attention/probs_recorder.h"
#include "attention/shape_recorder.h"
#include "capture/capture_store.h"
#include "small_pipeline.h"
#include "test_util.h"

#include <ATen/CPUGeneratorImpl.h>
#include <memory>
#include <set>

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

// A small SD v1 U-Net's pass, watched directly and taped.
struct TapedPass {
    TapedPass() {
        PipelineOptions options;
        options.dtype = at::kFloat;
        options.device = at::kCPU;
        pipeline = load_pipeline(kData + "/pipeline_v1_small", options);
        const auto& unet = pipeline->unet;
        const auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
        sample = at::randn({2, unet.config().in_channels, 8, 8}, gen);
        context = at::randn({2, 77, unet.config().cross_attention_dim}, gen);
        timestep = at::tensor(500.0, at::kDouble);
        AttentionRouter direct;
        direct.add_observer(&watching);
        unet.forward(sample, timestep, context, direct);
        tape = CallTape(direct.observers_keep_lse());
        AttentionRouter taped;
        taped.add_observer(&tape);
        unet.forward(sample, timestep, context, taped);
    }
    std::shared_ptr<const Pipeline> pipeline;
    at::Tensor sample, context, timestep;
    CaptureStore watching;
    CallTape tape;
};

// The store holds what `later` holds of `watching`'s sites, equal.
void expect_same_capture(const CaptureStore& later, const CaptureStore& watching) {
    ASSERT_EQ(later.entries().size(), watching.entries().size());
    for (const auto& [key, site] : watching.entries()) {
        const auto* kept = later.find(key.step, key.index, key.kind);
        ASSERT_NE(kept, nullptr) << key.index;
        EXPECT_TRUE(kept->q.equal(site.q)) << key.index;
        EXPECT_TRUE(kept->k.equal(site.k)) << key.index;
        EXPECT_TRUE(kept->lse.equal(site.lse)) << key.index;
    }
}

// The memory a store's tensors hold: each buffer once.
int64_t held_bytes(const CaptureStore& store) {
    std::set<const void*> seen;
    int64_t total = 0;
    for (const auto& [key, site] : store.entries())
        for (const auto& x : {site.q, site.k, site.lse, site.v, site.probs})
            if (x.defined() && seen.insert(x.storage().unsafeGetStorageImpl()).second)
                total += static_cast<int64_t>(x.storage().nbytes());
    return total;
}

TEST(CallTape, ShowsAnObserverWhatWatchingThePassShowsIt) {
    TapedPass pass;
    EXPECT_TRUE(pass.tape.wants_lse());
    CaptureStore later;
    pass.tape.play({&later});
    ASSERT_EQ(pass.tape.size(), 32u);
    expect_same_capture(later, pass.watching);
    // Shown as transient, the store copies: the next replay overwriting the tape's tensors (here: zeroing
    // them) leaves its capture as it was.
    Overwriter next_replay;
    pass.tape.play({&next_replay});
    EXPECT_EQ(next_replay.transient_calls, 32);
    for (const auto& [key, site] : pass.watching.entries()) {
        EXPECT_TRUE(later.find(key.step, key.index, key.kind)->q.equal(site.q)) << key.index;
        EXPECT_GT(site.q.abs().max().item<float>(), 0.f);
    }
}

TEST(CallTape, PackedItIsKeptWithOneCopyOfEachBuffer) {
    TapedPass pass;
    pass.tape.pack();
    CaptureStore later;
    pass.tape.play({&later});
    expect_same_capture(later, pass.watching);
    // Q and K of each kind in one buffer, the LSE of each kind in another; V, not kept, is not copied.
    std::set<const void*> buffers;
    for (const auto& [key, site] : later.entries())
        for (const auto& x : {site.q, site.k, site.lse}) buffers.insert(x.storage().unsafeGetStorageImpl());
    EXPECT_EQ(buffers.size(), 4u);
    EXPECT_EQ(held_bytes(later), later.bytes());
    EXPECT_EQ(later.bytes(), pass.watching.bytes());

    Overwriter next_replay;
    pass.tape.play({&next_replay});
    expect_same_capture(later, pass.watching);

    // With V kept, its buffers come along.
    CapturePolicy values;
    values.values = true;
    CaptureStore with_values(values);
    pass.tape.play({&with_values});
    EXPECT_EQ(held_bytes(with_values), with_values.bytes());
    int64_t v_bytes = 0;
    for (const auto& [key, site] : with_values.entries()) v_bytes += site.v.numel() * site.v.element_size();
    EXPECT_GT(v_bytes, 0);
    EXPECT_EQ(with_values.bytes(), later.bytes() + v_bytes);
}

TEST(CallTape, ABudgetDropsAPackedStepsSitesWithTheirBuffer) {
    TapedPass pass;
    const auto again = pass.tape; // the same calls, not packed
    pass.tape.pack();
    // Room for two steps less one byte: the second step's last site overflows it, and the first step's
    // self-attention goes, all of it, since its sites share one buffer.
    CapturePolicy tight;
    tight.budget_bytes = 2 * pass.watching.bytes() - 1;
    CaptureStore store(tight);
    for (int step = 0; step < 2; ++step) {
        store.begin_step(step);
        pass.tape.play({&store});
    }
    ASSERT_EQ(store.evictions().size(), 16u);
    EXPECT_NE(store.evictions().front().find("dropped step 1 index 1 self-attention"), std::string::npos);
    for (int index = 1; index <= 16; ++index) {
        EXPECT_EQ(store.find(0, index, AttentionKind::Self), nullptr) << index;
        EXPECT_NE(store.find(0, index, AttentionKind::Cross), nullptr) << index;
        EXPECT_NE(store.find(1, index, AttentionKind::Self), nullptr) << index;
    }
    EXPECT_LE(store.bytes(), store.budget());
    EXPECT_EQ(held_bytes(store), store.bytes());

    // Unpacked, each site is its own buffer and leaves alone: one is enough here.
    CaptureStore unpacked(tight);
    for (int step = 0; step < 2; ++step) {
        unpacked.begin_step(step);
        again.play({&unpacked});
    }
    EXPECT_EQ(unpacked.evictions().size(), 1u);
    EXPECT_EQ(held_bytes(unpacked), unpacked.bytes());
}

// Counts the calls whose V and output it is shown.
class Reader final : public AttentionObserver {
  public:
    void on_attention(const AttentionSite&, const AttentionTensors& t) override {
        values += t.v.defined();
        outputs += t.out.defined();
    }
    int values = 0, outputs = 0;
};

TEST(CallTape, IsShownNeitherVNorTheOutputWhereNoObserverReadsThem) {
    TapedPass pass;
    AttentionRouter capturing;
    CaptureStore store;
    capturing.add_observer(&store);
    EXPECT_FALSE(capturing.observers_read_values());
    CallTape tape(true, capturing.observers_read_values());
    AttentionRouter taped;
    taped.add_observer(&tape);
    pass.pipeline->unet.forward(pass.sample, pass.timestep, pass.context, taped);
    Reader reader;
    tape.play({&reader});
    EXPECT_EQ(reader.values, 0);
    EXPECT_EQ(reader.outputs, 0);
    // The first pass's tape, made for a reader of V: V, and still no output (the tape never keeps it).
    Reader all;
    pass.tape.play({&all});
    EXPECT_EQ(all.values, 32);
    EXPECT_EQ(all.outputs, 0);
    CapturePolicy values;
    values.values = true;
    CaptureStore with_values(values);
    capturing.add_observer(&with_values);
    EXPECT_TRUE(capturing.observers_read_values());
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
