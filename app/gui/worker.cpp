#include "worker.h"

#include "capture/attention_maps.h"
#include "capture/capture_store.h"
#include "io/png_file.h"
#include "session/pipeline.h"
#include "session/session.h"

#include <algorithm>
#include <atomic>
#include <c10/util/Exception.h>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace attnscope::gui {

namespace {

// Thrown out of a progress report or a step loop when the user cancels.
struct Cancelled {};

at::ScalarType parse_dtype(const std::string& name, const at::Device& device) {
    if (name.empty()) return device.is_cuda() ? at::kHalf : at::kFloat;
    if (name == "f32") return at::kFloat;
    if (name == "f16") return at::kHalf;
    if (name == "bf16") return at::kBFloat16;
    throw std::invalid_argument("unknown dtype '" + name + "' (use f32, f16 or bf16)");
}

// The UI's copy of a map. With `on_device`, a CUDA map stays in CUDA memory for CUDA-GL interop (its
// extremes are filled in by fill_device_extremes); `host` asks for host values as well.
ViewMap to_map(const at::Tensor& map, bool on_device, bool host) {
    ViewMap out;
    out.height = static_cast<int>(map.size(0));
    out.width = static_cast<int>(map.size(1));
    if (on_device && map.is_cuda()) {
        auto held = std::make_shared<const at::Tensor>(map.to(at::kFloat).contiguous());
        out.device.data = held->data_ptr<float>();
        out.device.device = held->get_device();
        out.device.owner = std::move(held);
        if (!host) return out;
    }
    const auto m = map.to(at::kCPU, at::kFloat).contiguous();
    out.values.assign(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
    const auto [lo, hi] = std::minmax_element(out.values.begin(), out.values.end());
    out.min_value = *lo;
    out.max_value = *hi;
    return out;
}

// The extremes of the maps left only on the GPU, in one copy to the host. That copy also waits for every
// map queued before it, so their memory is ready when the UI thread writes it into its textures.
void fill_device_extremes(MapResults& r) {
    std::vector<ViewMap*> maps;
    std::vector<at::Tensor> extremes;
    const auto add = [&](ViewMap& m) {
        if (!m.on_device() || !m.values.empty()) return;
        const auto& t = *static_cast<const at::Tensor*>(m.device.owner.get());
        extremes.push_back(t.min());
        extremes.push_back(t.max());
        maps.push_back(&m);
    };
    add(r.main);
    for (auto& m : r.index_maps) add(m);
    for (auto& m : r.head_maps) add(m);
    if (maps.empty()) return;
    const auto host = at::stack(extremes).to(at::kCPU, at::kFloat);
    const float* v = host.data_ptr<float>();
    for (size_t i = 0; i < maps.size(); ++i) {
        maps[i]->min_value = v[2 * i];
        maps[i]->max_value = v[2 * i + 1];
    }
}

RgbImage to_rgb(const at::Tensor& image, int step, bool full) {
    const auto img = to_image8(image);
    RgbImage out;
    out.width = img.width;
    out.height = img.height;
    out.step = step;
    out.full = full;
    out.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
    for (size_t p = 0; p < static_cast<size_t>(img.width) * img.height; ++p)
        for (int c = 0; c < 3; ++c)
            out.rgb[p * 3 + c] = img.pixels[p * img.channels + (img.channels >= 3 ? c : 0)];
    return out;
}

TokenRole role_of(const ClipEncoding& e, int position) {
    if (position == 0) return TokenRole::Start;
    if (position == e.length - 1) return TokenRole::End;
    if (position >= e.length) return TokenRole::Padding;
    return TokenRole::Prompt;
}

} // namespace

struct Worker::Impl {
    WorkerOptions options;
    std::shared_ptr<const Pipeline> pipeline;
    std::unique_ptr<CaptureStore> store; // observes `session`; destroyed after it
    std::unique_ptr<Session> session;
    std::map<std::pair<int, bool>, std::string> site_backends;

    mutable std::mutex mutex; // guards everything below
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    bool running = false;
    bool stopping = false;
    WorkerSnapshot snap;
    ViewRequest view;         // the last request
    bool device_maps = false; // leave CUDA maps on the GPU (the UI writes them into GL by interop)
    bool views_valid = false; // maps and preview computed for `view` and the current session state
    MapResults maps;
    RgbImage preview;
    std::atomic<bool> cancel{false};
    std::thread thread;

    void enqueue(std::function<void()> job) {
        {
            const std::lock_guard<std::mutex> lock(mutex);
            jobs.push_back(std::move(job));
        }
        wake.notify_one();
    }

    void loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lock(mutex);
                wake.wait(lock, [&] { return stopping || !jobs.empty() || needs_views(); });
                if (stopping) return;
                if (!jobs.empty()) {
                    job = std::move(jobs.front());
                    jobs.pop_front();
                    running = true;
                    snap.busy = true;
                    snap.error.clear();
                    cancel = false;
                }
            }
            if (job)
                guarded(job, false);
            else
                guarded([&] { refresh_views(); }, true);
            const std::lock_guard<std::mutex> lock(mutex);
            running = false;
            snap.busy = false;
            snap.playing = false;
            snap.task.clear();
            snap.progress = 0;
        }
    }

    bool needs_views() const { return session && !views_valid; } // with `mutex` held

    // Runs a command or a view refresh; a failure becomes the snapshot's error. A failed refresh is not
    // retried until the request or the session changes.
    void guarded(const std::function<void()>& job, bool is_refresh) {
        std::string error;
        try {
            job();
        } catch (const Cancelled&) {
        } catch (const c10::Error& e) {
            error = e.what_without_backtrace();
        } catch (const std::exception& e) {
            error = e.what();
        }
        publish();
        if (!error.empty()) {
            const std::lock_guard<std::mutex> lock(mutex);
            snap.error = error;
            if (is_refresh) views_valid = true;
        }
    }

    void set_task(const std::string& task, float progress) {
        const std::lock_guard<std::mutex> lock(mutex);
        snap.task = task;
        snap.progress = progress;
    }

    void check_cancel() const {
        if (cancel) throw Cancelled{};
    }

    // Copies the session's state into the snapshot.
    void publish() {
        WorkerSnapshot s;
        if (pipeline) {
            s.model_loaded = true;
            s.model_source = pipeline->source;
            s.model_description = pipeline->describe();
            s.device = pipeline->unet.device().str();
            s.dtype = c10::toString(pipeline->unet.dtype());
            s.element_bytes = static_cast<int>(c10::elementSize(pipeline->unet.dtype()));
            s.has_taesd = pipeline->taesd.has_value();
        }
        if (session) {
            const auto& g = session->settings();
            s.session_ready = true;
            s.session_settings.prompt = g.prompt;
            s.session_settings.negative_prompt = g.negative_prompt;
            s.session_settings.seed = g.seed;
            s.session_settings.steps = g.steps;
            s.session_settings.guidance_scale = g.guidance_scale;
            s.session_settings.scheduler = to_string(g.scheduler);
            s.session_settings.width = g.width;
            s.session_settings.height = g.height;
            s.session_settings.backend = session->router().default_backend();
            s.latent_width = static_cast<int>(session->latents().size(3));
            s.latent_height = static_cast<int>(session->latents().size(2));
            s.current_step = session->current_step();
            s.total_steps = session->total_steps();
            s.captured_steps = store->steps();
            for (const auto& h : session->history()) s.history.push_back({h.timestep, h.unet_ms, h.step_ms});
            const auto& e = session->prompt_tokens();
            for (size_t i = 0; i < e.display.size(); ++i)
                s.tokens.push_back({e.display[i], e.word_index[i], role_of(e, static_cast<int>(i))});
            s.words = e.words;
            s.prompt_length = e.length;
            const int64_t batch = session->guided() ? 2 : 1;
            for (const auto& site :
                 pipeline->unet.sites(batch, s.latent_height, s.latent_width, ClipTokenizer::kContextLength))
                s.sites.push_back({site.index, site.kind == AttentionKind::Self, site.height, site.width,
                                   site.heads, site.head_dim, site.batch, site.seq_q, site.seq_k, site.module,
                                   site.scale()});
            s.backends.push_back(kAutoBackend);
            for (const auto& name : session->router().backend_names())
                if (name != kAutoBackend) s.backends.push_back(name);
            for (const auto& [key, name] : session->router().last_used())
                s.last_used[{key.first, key.second == AttentionKind::Self}] = name;
            s.site_backend = site_backends;
            s.capture_bytes = store->bytes();
            s.capture_budget = store->budget();
            s.evictions = store->evictions().size();
            if (!store->evictions().empty()) s.last_eviction = store->evictions().back();
        }
        const std::lock_guard<std::mutex> lock(mutex);
        s.busy = snap.busy;
        s.task = snap.task;
        s.progress = snap.progress;
        s.playing = snap.playing;
        s.error = snap.error;
        s.preview_version = snap.preview_version;
        s.maps_version = snap.maps_version;
        snap = std::move(s);
    }

    void invalidate_views() {
        const std::lock_guard<std::mutex> lock(mutex);
        views_valid = false;
    }

    void new_session(const RunSettings& r) {
        GenerationSettings g;
        g.prompt = r.prompt;
        g.negative_prompt = r.negative_prompt;
        g.seed = r.seed;
        g.steps = r.steps;
        g.guidance_scale = r.guidance_scale;
        g.scheduler = parse_scheduler(r.scheduler);
        g.width = r.width;
        g.height = r.height;
        auto fresh = std::make_unique<Session>(pipeline, g);
        fresh->router().set_default_backend(r.backend);
        for (const auto& [key, name] : site_backends)
            fresh->router().set_site_backend(key.first,
                                             key.second ? AttentionKind::Self : AttentionKind::Cross, name);
        session.reset();
        store = std::make_unique<CaptureStore>();
        session = std::move(fresh);
        session->router().add_observer(store.get());
        const std::lock_guard<std::mutex> lock(mutex);
        preview = {};
        views_valid = false;
    }

    void do_step() {
        const int n = session->total_steps();
        set_task("step " + std::to_string(session->current_step() + 1) + "/" + std::to_string(n),
                 static_cast<float>(session->current_step()) / n);
        store->begin_step(session->current_step());
        session->step();
        invalidate_views();
        publish();
    }

    Session& need_session() const {
        if (!session) throw std::runtime_error("no session: load a model first");
        return *session;
    }

    void run_steps(bool refresh_each) {
        auto& s = need_session();
        {
            const std::lock_guard<std::mutex> lock(mutex);
            snap.playing = true;
        }
        while (!s.done()) {
            check_cancel();
            do_step();
            if (refresh_each) refresh_views();
        }
    }

    // The step a request resolves to: the latest step done when it follows the run.
    int resolve_step(const ViewRequest& v) const {
        if (!session || session->current_step() == 0) return -1;
        if (v.step < 0 || v.step >= session->current_step()) return session->current_step() - 1;
        return v.step;
    }

    void refresh_views() {
        if (!session) return;
        ViewRequest v;
        bool on_device = false;
        {
            const std::lock_guard<std::mutex> lock(mutex);
            v = view;
            on_device = device_maps;
            views_valid = true;
        }
        const int step = resolve_step(v);
        v.step = step;
        if (preview.step != step || preview.width == 0) {
            set_task("decoding the preview", 0);
            auto image = step < 0 ? session->image(Decoder::Fast) : session->preview(step, Decoder::Fast);
            auto rgb = to_rgb(image, step, !pipeline->taesd);
            const std::lock_guard<std::mutex> lock(mutex);
            preview = std::move(rgb);
            ++snap.preview_version;
        }
        set_task("computing maps", 0);
        auto results = compute_maps(v, on_device);
        const std::lock_guard<std::mutex> lock(mutex);
        maps = std::move(results);
        ++snap.maps_version;
    }

    MapRequest base_request(const ViewRequest& v, const std::vector<int>& tokens) const {
        MapRequest r;
        r.steps = {v.step};
        r.kind = v.self ? AttentionKind::Self : AttentionKind::Cross;
        r.heads = v.head_mode == HeadMode::Single ? HeadReduction::Single
                  : v.head_mode == HeadMode::Max  ? HeadReduction::Max
                                                  : HeadReduction::Mean;
        r.head = v.head;
        r.tokens.assign(tokens.begin(), tokens.end());
        r.query_x = v.query_x;
        r.query_y = v.query_y;
        return r;
    }

    MapResults compute_maps(const ViewRequest& v, bool on_device) const {
        MapResults out;
        out.request = v;
        out.index_maps.resize(16);
        if (v.step < 0) {
            out.error = "no step has run yet";
            return out;
        }
        if (!v.self && v.tokens.empty()) {
            out.error = "select a token";
            return out;
        }
        const auto kind = v.self ? AttentionKind::Self : AttentionKind::Cross;
        std::vector<int> captured;
        for (int i = 1; i <= 16; ++i)
            if (store->find(v.step, i, kind)) captured.push_back(i);
        if (captured.empty()) {
            out.error = "step " + std::to_string(v.step + 1) + " has no " + to_string(kind) +
                        "-attention capture (evicted?)";
            return out;
        }
        const auto heads_of = [&](int index) { return store->find(v.step, index, kind)->site.heads; };
        const auto for_site = [&](int index, const std::vector<int>& tokens) {
            auto r = base_request(v, tokens);
            r.indices = {index};
            if (r.heads == HeadReduction::Single && r.head >= heads_of(index)) r.heads = HeadReduction::Mean;
            return r;
        };
        try {
            if (v.aggregate) {
                auto r = base_request(v, v.tokens);
                r.indices = captured;
                r.out_width = static_cast<int>(session->latents().size(3));
                r.out_height = static_cast<int>(session->latents().size(2));
                out.main = to_map(attention_map(*store, r), on_device, true);
            } else if (store->find(v.step, v.index, kind)) {
                out.main = to_map(attention_map(*store, for_site(v.index, v.tokens)), on_device, true);
            } else {
                out.error = "index " + std::to_string(v.index) + " was not captured at this step";
            }
            const auto& thumb_tokens = v.thumb_tokens.empty() ? v.tokens : v.thumb_tokens;
            for (const int i : captured)
                out.index_maps[i - 1] =
                    to_map(attention_map(*store, for_site(i, thumb_tokens)), on_device, false);
            if (store->find(v.step, v.index, kind)) {
                auto r = base_request(v, v.tokens);
                r.indices = {v.index};
                r.heads = HeadReduction::Single;
                for (int h = 0; h < heads_of(v.index); ++h) {
                    r.head = h;
                    out.head_maps.push_back(to_map(attention_map(*store, r), on_device, false));
                }
                r.heads = HeadReduction::Mean;
                out.head_maps.push_back(to_map(attention_map(*store, r), on_device, false));
                r.heads = HeadReduction::Max;
                out.head_maps.push_back(to_map(attention_map(*store, r), on_device, false));
            }
            fill_device_extremes(out);
        } catch (const std::exception& e) {
            out.error = e.what();
        }
        return out;
    }
};

Worker::Worker(const WorkerOptions& options) : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->thread = std::thread([this] { impl_->loop(); });
}

Worker::~Worker() {
    {
        const std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->stopping = true;
        impl_->jobs.clear();
    }
    impl_->cancel = true;
    impl_->wake.notify_one();
    impl_->thread.join();
}

void Worker::load(const std::string& path, const RunSettings& settings) {
    impl_->enqueue([this, path, settings] {
        auto& w = *impl_;
        PipelineOptions o;
        o.device = at::Device(w.options.device);
        o.dtype = parse_dtype(w.options.dtype, o.device);
        w.set_task("loading " + path, 0);
        auto loaded = load_pipeline(path, o, [&w](double f, const std::string& what) {
            w.check_cancel();
            w.set_task(what, static_cast<float>(f));
        });
        // Only a model that loaded replaces the previous one.
        w.session.reset();
        w.store.reset();
        w.pipeline = std::move(loaded);
        w.publish();
        w.new_session(settings);
    });
}

void Worker::start_session(const RunSettings& settings) {
    impl_->enqueue([this, settings] {
        if (!impl_->pipeline) throw std::runtime_error("no model loaded");
        impl_->new_session(settings);
    });
}

void Worker::step() {
    impl_->enqueue([this] {
        auto& s = impl_->need_session();
        if (s.done()) throw std::runtime_error("every step has run: Reset or rewind to run again");
        impl_->do_step();
    });
}

void Worker::play() {
    impl_->enqueue([this] { impl_->run_steps(true); });
}

void Worker::run_to_end() {
    impl_->enqueue([this] { impl_->run_steps(false); });
}

void Worker::rewind(int step) {
    impl_->enqueue([this, step] {
        impl_->need_session().rewind(step);
        impl_->store->drop_from(step);
        impl_->invalidate_views();
    });
}

void Worker::decode_full(int step) {
    impl_->enqueue([this, step] {
        auto& w = *impl_;
        auto& s = w.need_session();
        w.set_task("decoding with the VAE", 0);
        const auto image = step < 0 ? s.image(Decoder::Full) : s.preview(step, Decoder::Full);
        auto rgb = to_rgb(image, step, true);
        const std::lock_guard<std::mutex> lock(w.mutex);
        w.preview = std::move(rgb);
        ++w.snap.preview_version;
    });
}

void Worker::set_site_backend(int index, bool self, const std::string& name) {
    impl_->enqueue([this, index, self, name] {
        auto& w = *impl_;
        w.need_session().router().set_site_backend(index, self ? AttentionKind::Self : AttentionKind::Cross,
                                                   name);
        if (name == kAutoBackend)
            w.site_backends.erase({index, self});
        else
            w.site_backends[{index, self}] = name;
    });
}

void Worker::cancel() {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->jobs.clear();
    impl_->cancel = true;
}

void Worker::set_device_maps(bool on) {
    {
        const std::lock_guard<std::mutex> lock(impl_->mutex);
        if (impl_->device_maps == on) return;
        impl_->device_maps = on;
        impl_->views_valid = false;
    }
    impl_->wake.notify_one();
}

void Worker::request_view(const ViewRequest& view) {
    {
        const std::lock_guard<std::mutex> lock(impl_->mutex);
        if (view == impl_->view) return;
        impl_->view = view;
        impl_->views_valid = false;
    }
    impl_->wake.notify_one();
}

WorkerSnapshot Worker::snapshot() const {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    return impl_->snap;
}

bool Worker::take_maps(MapResults& out, uint64_t& version) const {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->snap.maps_version == version) return false;
    version = impl_->snap.maps_version;
    out = impl_->maps;
    return true;
}

bool Worker::take_preview(RgbImage& out, uint64_t& version) const {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->snap.preview_version == version) return false;
    version = impl_->snap.preview_version;
    out = impl_->preview;
    return true;
}

bool Worker::idle() const {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    return !impl_->running && impl_->jobs.empty() && !impl_->needs_views();
}

} // namespace attnscope::gui
