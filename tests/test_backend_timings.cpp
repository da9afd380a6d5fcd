// The measured half of `auto` (core/attention/backend_timings.h), with timings injected: which backend it
// picks, that each (GPU, shape, backend) is measured once, and that the cache file carries them across runs.
#include "attention/backend_timings.h"
#include "test_util.h"

#include <fstream>
#include <map>

namespace attnscope {
namespace {

TimedShape index1_self() {
    TimedShape s;
    s.device = "NVIDIA H100 80GB HBM3, LibTorch 2.11.0, attnscope 0.1 (abc)";
    s.dtype = "f16";
    s.rows = 16;
    s.seq_q = s.seq_k = 4096;
    s.head_dim = 40;
    return s;
}

// Canned timings (ms) that count how often each backend was measured.
struct FakeClock {
    std::map<std::string, double> ms;
    std::map<std::string, int> calls;
    double operator()(const std::string& name) {
        ++calls[name];
        return ms.at(name);
    }
};

TEST(BackendTimings, PicksTheFastestAndSaysWhatItMeasured) {
    BackendTimings timings("");
    FakeClock clock{{{"flash", 0.198}, {"sdpa", 0.181}}, {}};
    const auto choice = timings.fastest(index1_self(), {"flash", "sdpa"}, std::ref(clock));
    EXPECT_EQ(choice.backend, "sdpa");
    EXPECT_EQ(choice.why, "measured: flash 0.198 ms, sdpa 0.181 ms");

    auto cross = index1_self();
    cross.seq_k = 77;
    FakeClock other{{{"flash", 0.020}, {"sdpa", 0.026}}, {}};
    EXPECT_EQ(timings.fastest(cross, {"flash", "sdpa"}, std::ref(other)).backend, "flash");
}

TEST(BackendTimings, MeasuresEachShapeOnceAndTiesGoToTheFirstCandidate) {
    BackendTimings timings("");
    FakeClock clock{{{"flash", 0.5}, {"sdpa", 0.5}}, {}};
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(timings.fastest(index1_self(), {"flash", "sdpa"}, std::ref(clock)).backend, "flash");
    EXPECT_EQ(clock.calls["flash"], 1);
    EXPECT_EQ(clock.calls["sdpa"], 1);
    // Another dtype, GPU or an upcast softmax is another measurement.
    auto bf16 = index1_self();
    bf16.dtype = "bf16";
    auto upcast = index1_self();
    upcast.upcast = true;
    auto h200 = index1_self();
    h200.device = "NVIDIA H200, LibTorch 2.11.0, attnscope 0.1 (abc)";
    for (const auto& s : {bf16, upcast, h200}) timings.fastest(s, {"flash", "sdpa"}, std::ref(clock));
    EXPECT_EQ(clock.calls["flash"], 4);
    // A candidate added later is measured alone.
    clock.ms["math"] = 0.1;
    EXPECT_EQ(timings.fastest(index1_self(), {"flash", "sdpa", "math"}, std::ref(clock)).backend, "math");
    EXPECT_EQ(clock.calls["flash"], 4);
    EXPECT_EQ(clock.calls["math"], 1);
}

TEST(BackendTimings, TheCacheFileCarriesTimingsToTheNextRun) {
    test::TempDir dir;
    const auto file = dir.path() / "cache" / "backend-timings.json";
    {
        BackendTimings first(file);
        FakeClock clock{{{"flash", 0.72}, {"sdpa", 0.48}}, {}};
        EXPECT_EQ(first.fastest(index1_self(), {"flash", "sdpa"}, std::ref(clock)).backend, "sdpa");
    }
    ASSERT_TRUE(std::filesystem::exists(file));
    BackendTimings second(file);
    FakeClock never{{{"flash", 0.01}, {"sdpa", 9.0}}, {}};
    const auto choice = second.fastest(index1_self(), {"flash", "sdpa"}, std::ref(never));
    EXPECT_EQ(choice.backend, "sdpa") << "the cached timings, not new ones";
    EXPECT_TRUE(never.calls.empty());
    EXPECT_EQ(choice.why, "measured: flash 0.72 ms, sdpa 0.48 ms");
}

TEST(BackendTimings, ABrokenCacheFileIsMeasuredAnewAndRewritten) {
    test::TempDir dir;
    const auto file = dir.path() / "backend-timings.json";
    for (const char* text : {"{not json", "[1, 2]", "{\"gpu\": {\"f16 1x1x1x40\": {\"flash\": \"fast\"}}}",
                             "{\"gpu\": {\"f16 1x1x1x40\": {\"flash\": -1}}}"}) {
        std::ofstream(file) << text;
        BackendTimings timings(file);
        FakeClock clock{{{"flash", 0.3}, {"sdpa", 0.2}}, {}};
        EXPECT_EQ(timings.fastest(index1_self(), {"flash", "sdpa"}, std::ref(clock)).backend, "sdpa") << text;
        EXPECT_EQ(clock.calls["flash"], 1) << text;
        BackendTimings again(file);
        FakeClock never{{{"flash", 0.01}, {"sdpa", 9.0}}, {}};
        EXPECT_EQ(again.fastest(index1_self(), {"flash", "sdpa"}, std::ref(never)).backend, "sdpa") << text;
    }
}

TEST(BackendTimings, TheCacheLivesWhereTheUserSaysOrInTheXdgCache) {
    const auto keep = [](const char* name) {
        const char* v = std::getenv(name);
        return std::pair<std::string, bool>(v ? v : "", v != nullptr);
    };
    const auto own = keep("ATTNSCOPE_CACHE"), xdg = keep("XDG_CACHE_HOME");
    setenv("ATTNSCOPE_CACHE", "/tmp/own", 1);
    EXPECT_EQ(BackendTimings::default_cache_file(), "/tmp/own/backend-timings.json");
    unsetenv("ATTNSCOPE_CACHE");
    setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
    EXPECT_EQ(BackendTimings::default_cache_file(), "/tmp/xdg/attnscope/backend-timings.json");
    for (const auto& [name, value] : {std::pair{"ATTNSCOPE_CACHE", own}, std::pair{"XDG_CACHE_HOME", xdg}}) {
        if (value.second)
            setenv(name, value.first.c_str(), 1);
        else
            unsetenv(name);
    }
}

} // namespace
} // namespace attnscope
