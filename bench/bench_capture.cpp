// What capturing attention costs a generation, and how fast a map comes back from the capture.
//   bench_capture [--preset sd15 | --model DIR] [--size 512x512] [--steps 50] [--dtype f16] [--device cuda]
//                 [--modes off,all,self,cross,no-probs] [--reps 50] [--sync-store 1]
// One session per mode with the same seed: median U-Net ms per step (first two steps left out), the ratio to
// the run without capture, captured MiB per step. Then, on the last mode's capture, the latency of map
// requests (median of --reps, device synchronized): a token map at index 1 and summed over the 16 sites at
// image size, a pixel row at index 1 and at index 16. --sync-store 1 waits for the device before and after
// the store takes each pass's calls: its time is then its copies' own, which otherwise overlap the step.
#include "capture/attention_maps.h"
#include "capture/capture_store.h"
#include "gpu_info.h"
#include "session/session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace attnscope;
using Clock = std::chrono::steady_clock;

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == "--" + name) return argv[i + 1];
    return fallback;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

std::optional<CapturePolicy> policy_for(const std::string& mode) {
    CapturePolicy p;
    if (mode == "off") return std::nullopt;
    if (mode == "self")
        p.cross_attention = false;
    else if (mode == "cross")
        p.self_attention = false;
    else if (mode == "no-probs")
        p.cross_probs = false;
    else if (mode != "all")
        throw std::invalid_argument("unknown mode '" + mode + "' (off, all, self, cross, no-probs)");
    return p;
}

// The store's own host time inside the forward pass: a sync or an allocation there shows up here.
class TimedObserver final : public AttentionObserver {
  public:
    TimedObserver(AttentionObserver& inner, bool synchronized) : inner_(inner), synchronized_(synchronized) {}
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override {
        timed([&] { inner_.on_attention(site, t); });
    }
    void on_calls_after_the_pass(const std::vector<ObservedCall>& calls) override {
        timed([&] { inner_.on_calls_after_the_pass(calls); });
    }
    // What the store asks of the router, the backend choice among it (the wrapper once hid wants_lse: `auto`
    // then took SDPA and the store recomputed each LSE, 2.5x a step).
    bool wants_probs() const override { return inner_.wants_probs(); }
    bool wants_lse() const override { return inner_.wants_lse(); }
    bool wants_values() const override { return inner_.wants_values(); }
    bool wants_outputs() const override { return inner_.wants_outputs(); }
    bool sees_calls_after_the_pass() const override { return inner_.sees_calls_after_the_pass(); }
    double ms = 0;

  private:
    void timed(const std::function<void()>& work) {
        if (synchronized_) gpu_synchronize();
        const auto t0 = Clock::now();
        work();
        if (synchronized_) gpu_synchronize();
        ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    AttentionObserver& inner_;
    const bool synchronized_;
};

double time_ms(const std::function<void()>& work, int reps) {
    std::vector<double> ms;
    for (int i = 0; i < reps + 3; ++i) {
        gpu_synchronize();
        const auto t0 = Clock::now();
        work();
        gpu_synchronize();
        if (i >= 3) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return median(ms);
}

} // namespace

int main(int argc, char** argv) try {
    const std::string model = arg(argc, argv, "model", ""), preset = arg(argc, argv, "preset", "sd15");
    const std::string dt = arg(argc, argv, "dtype", "f16"), size = arg(argc, argv, "size", "512x512");
    const auto dtype = dt == "f32" ? at::kFloat : dt == "bf16" ? at::kBFloat16 : at::kHalf;
    const at::Device device(arg(argc, argv, "device", "cuda"));
    const int reps = std::stoi(arg(argc, argv, "reps", "50"));
    const bool sync_store = arg(argc, argv, "sync-store", "0") == "1";
    GenerationSettings settings;
    settings.prompt = "a red circle left of a blue square on a gray background";
    settings.steps = std::stoi(arg(argc, argv, "steps", "50"));
    settings.seed = 1;
    settings.width = std::stoi(size.substr(0, size.find('x')));
    settings.height = std::stoi(size.substr(size.find('x') + 1));

    PipelineOptions options;
    options.dtype = dtype;
    options.device = device;
    const auto pipeline =
        model.empty() ? random_pipeline(preset, 0, dtype, device) : load_pipeline(model, options);
    std::printf("%s, %dx%d, %d steps, CFG %.1f, %s on %s\n", model.empty() ? preset.c_str() : model.c_str(),
                settings.width, settings.height, settings.steps, pipeline->default_guidance(), dt.c_str(),
                device.str().c_str());

    double off_ms = 0;
    std::unique_ptr<CaptureStore> last;
    std::unique_ptr<TimedObserver> timed;
    std::stringstream modes(arg(argc, argv, "modes", "off,all,self,cross,no-probs"));
    for (std::string mode; std::getline(modes, mode, ',');) {
        const auto policy = policy_for(mode);
        Session session(pipeline, settings);
        timed.reset();
        last.reset();
        if (policy) {
            last = std::make_unique<CaptureStore>(*policy);
            timed = std::make_unique<TimedObserver>(*last, sync_store);
            session.router().add_observer(timed.get());
        }
        std::vector<double> unet_ms;
        int replayed = 0;
        while (!session.done()) {
            if (last) last->begin_step(session.current_step());
            const auto info = session.step();
            if (info.index >= 2) unet_ms.push_back(info.unet_ms);
            replayed += info.cuda_graph;
        }
        const double ms = median(unet_ms);
        if (mode == "off") off_ms = ms;
        std::printf("capture %-8s U-Net per step: median %7.2f ms", mode.c_str(), ms);
        if (off_ms > 0 && mode != "off") std::printf("  (%.3fx of off)", ms / off_ms);
        std::printf("  %d of %d steps a replayed CUDA graph", replayed, settings.steps);
        if (last)
            std::printf("  %.1f MiB per step, %zu evictions, %.2f ms per step in the store (%s)",
                        last->bytes() / double(1 << 20) / settings.steps, last->evictions().size(),
                        timed->ms / settings.steps, sync_store ? "synchronized: its copies" : "host");
        std::printf("\n");
        if (timed) session.router().remove_observer(timed.get());
    }
    if (!last) return 0;

    const int step = settings.steps / 2;
    const auto& prompt = pipeline->encode_prompt(settings.prompt).tokens;
    MapRequest token;
    token.steps = {step};
    token.indices = {1};
    token.kind = AttentionKind::Cross;
    token.tokens = {2}; // "red"
    MapRequest daam = token;
    daam.indices.clear();
    for (int i = 1; i <= 16; ++i) daam.indices.push_back(i);
    daam.out_width = settings.width;
    daam.out_height = settings.height;
    MapRequest pixel;
    pixel.steps = {step};
    pixel.indices = {1};
    pixel.kind = AttentionKind::Self;
    pixel.query_x = pixel.query_y = 0.3;
    MapRequest pixel16 = pixel;
    pixel16.indices = {16};
    std::printf(
        "map latency at step %d (median of %d, synchronized; prompt has %zu tokens with start and end):\n",
        step + 1, reps, static_cast<size_t>(prompt.length));
    const std::vector<std::pair<const char*, const MapRequest*>> requests = {
        {"token map, index 1 (own resolution)", &token},
        {"token map, 16 sites summed at image size", &daam},
        {"pixel row, index 1 (self, mean of heads)", &pixel},
        {"pixel row, index 16", &pixel16}};
    for (const auto& [name, request] : requests) {
        const double ms = time_ms([&] { (void)attention_map(*last, *request); }, reps);
        std::printf("  %-42s %8.3f ms\n", name, ms);
    }
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_capture: %s\n", e.what());
    return 1;
}
