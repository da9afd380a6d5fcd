#include "worker.h"

#include "branch_run.h"
#include "compare/lora_sweep.h"
#include "comparison_run.h"
#include "int8_run.h"
#include "io/image_file.h"
#include "session/pipeline.h"
#include "session/session.h"
#include "tensor_views.h"
#include "text/tokenizer_pair.h"
#include "token_mass_view.h"
#include "unet_blocks_view.h"
#include "util/dtype_names.h"
#include "util/tf32.h"
#include "view_maps.h"
#include "walk_run.h"

#include <algorithm>
#include <atomic>
#include <c10/util/Exception.h>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace attnscope::gui {

namespace {

// Thrown out of a progress report or a step loop when the user cancels.
struct Cancelled {};

// The reading's timesteps field, "200,400,600".
std::vector<int> timestep_list(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        std::size_t used = 0;
        int t = -1;
        try {
            t = std::stoi(part, &used);
        } catch (const std::exception&) {
        }
        if (t < 0 || t > 999 || used != part.size())
            throw std::invalid_argument("reading timesteps '" + text +
                                        "': expected numbers 0..999 like 200,400,600");
        out.push_back(t);
    }
    return out;
}

at::ScalarType parse_dtype(const std::string& name, const at::Device& device) {
    if (name.empty()) return device.is_cuda() ? at::kHalf : at::kFloat;
    return parse_dtype_name(name);
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
    std::string model_path;           // what `pipeline` was loaded from
    PipelineOptions pipeline_options; // and how
    std::shared_ptr<const Pipeline> pipeline;
    std::shared_ptr<const Pipeline> other_dtype; // the model in B's dtype, when a comparison needed one
    std::unique_ptr<CaptureStore> store;         // observes `session`; destroyed after it
    std::unique_ptr<Session> session;
    std::map<std::pair<int, bool>, std::string> site_backends;
    std::unique_ptr<ComparisonRun> comparison;
    std::vector<std::unique_ptr<BranchRun>> branches; // oldest first
    int next_branch_id = 1;
    TokenMassCache token_mass;
    uint64_t capture_version = 0; // bumped whenever captured steps are replaced

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
    PairImages images;
    Int8View int8;
    std::shared_ptr<const SweepView> sweep;
    WalkRun walk_run;
    WalkView walk;
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
                // A view refresh runs too (idle() says so), but the UI does not show it as busy; it shows its
                // task, and Cancel stops it.
                running = true;
                cancel = false;
                if (!jobs.empty()) {
                    job = std::move(jobs.front());
                    jobs.pop_front();
                    snap.busy = true;
                    snap.error.clear();
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
        s.tf32 = tf32_allowed();
        if (pipeline) {
            s.model_loaded = true;
            s.model_source = pipeline->source;
            s.model_description = pipeline->describe();
            s.device = pipeline->unet.device().str();
            s.dtype = c10::toString(pipeline->unet.dtype());
            s.element_bytes = static_cast<int>(c10::elementSize(pipeline->unet.dtype()));
            s.has_taesd = pipeline->taesd.has_value();
            s.pixel_space = pipeline->pixel_space();
            s.unet_blocks = unet_block_rows(pipeline->unet.layout());
            s.prompt_guide = pipeline->prompt_guide;
            s.model_guidance = pipeline->default_guidance();
            s.loras = pipeline->loras;
        }
        if (session) {
            const auto& g = session->settings();
            s.session_ready = true;
            s.session_settings.prompt = g.prompt;
            s.session_settings.negative_prompt = g.negative_prompt;
            s.session_settings.seed = g.seed;
            s.session_settings.steps = g.steps;
            s.session_settings.guidance_scale = session->guidance_scale();
            s.session_settings.scheduler = to_string(g.scheduler);
            s.session_settings.width = g.width;
            s.session_settings.height = g.height;
            s.session_settings.backend = session->router().default_backend();
            if (g.start_image) {
                s.session_settings.start_image = g.start_image->source;
                s.session_settings.strength = g.start_image->strength;
            }
            if (g.reading) {
                s.session_settings.start_image = g.reading->source;
                s.session_settings.read_picture = true;
                s.session_settings.reading_noises = g.reading->noises;
            }
            s.first_scheduled_step = session->first_scheduled_step();
            s.latent_width = static_cast<int>(session->latents().size(3));
            s.latent_height = static_cast<int>(session->latents().size(2));
            s.current_step = session->current_step();
            s.total_steps = session->total_steps();
            s.captured_steps = store->steps();
            for (const auto& h : session->history())
                s.history.push_back({h.timestep, h.unet_ms, h.step_ms, h.cuda_graph});
            const auto& e = session->prompt_tokens();
            for (size_t i = 0; i < e.display.size(); ++i)
                s.tokens.push_back({e.display[i], e.word_index[i], role_of(e, static_cast<int>(i))});
            s.words = e.words;
            s.prompt_length = e.length;
            if (const auto& second = session->prompt_tokens_2())
                s.tokenizers = compare_tokenizations(e, *second);
            const int64_t batch = session->guided() ? 2 : 1;
            for (const auto& site :
                 pipeline->unet.sites(batch, s.latent_height, s.latent_width, ClipTokenizer::kContextLength))
                s.sites.push_back({site.index, site.kind == AttentionKind::Self, site.height, site.width,
                                   site.heads, site.head_dim, site.batch, site.seq_q, site.seq_k, site.module,
                                   site.scale(), transformer_module(site.module), 1});
            s.deep_transformers = group_by_transformer(s.sites);
            s.backends.push_back(kAutoBackend);
            for (const auto& name : session->router().backend_names())
                if (name != kAutoBackend) s.backends.push_back(name);
            for (const auto& [key, name] : session->router().last_used())
                s.last_used[{key.first, key.second == AttentionKind::Self}] = name;
            for (const auto& [key, why] : session->router().last_why())
                s.last_why[{key.first, key.second == AttentionKind::Self}] = why;
            s.site_backend = site_backends;
            s.unet_run = session->unet_run();
            s.capture_bytes = store->bytes();
            s.capture_budget = store->budget();
            s.evictions = store->evictions().size();
            if (!store->evictions().empty()) s.last_eviction = store->evictions().back();
        }
        s.capture_version = capture_version;
        if (comparison) s.comparison = comparison->summary();
        for (const auto& b : branches) s.branches.push_back(b->summary());
        const std::lock_guard<std::mutex> lock(mutex);
        s.busy = snap.busy;
        s.task = snap.task;
        s.progress = snap.progress;
        s.playing = snap.playing;
        s.error = snap.error;
        s.preview_version = snap.preview_version;
        s.maps_version = snap.maps_version;
        s.images_version = snap.images_version;
        s.int8_version = snap.int8_version;
        s.walk_version = snap.walk_version;
        s.sweep_version = snap.sweep_version;
        snap = std::move(s);
    }

    void invalidate_views() {
        const std::lock_guard<std::mutex> lock(mutex);
        views_valid = false;
    }

    // Captured steps from `step` on are gone (or all of them, with a new session): what was measured on
    // them goes too.
    void captures_replaced(int step) {
        ++capture_version;
        token_mass.drop_from(step);
        walk_run.forget();
        const std::lock_guard<std::mutex> lock(mutex);
        int8 = {};
        ++snap.int8_version;
        walk = {};
        ++snap.walk_version;
    }

    // The latest of a result when it is newer than `version` (which is updated).
    template <typename T>
    bool take(const T& latest, const uint64_t& latest_version, T& out, uint64_t& version) const {
        const std::lock_guard<std::mutex> lock(mutex);
        if (latest_version == version) return false;
        version = latest_version;
        out = latest;
        return true;
    }

    // A session on `model` with the UI's settings and site choices; throws on bad settings before anything
    // of the current state is touched.
    std::unique_ptr<Session> make_session(const std::shared_ptr<const Pipeline>& model,
                                          const RunSettings& r) const {
        GenerationSettings g;
        g.prompt = r.prompt;
        g.negative_prompt = r.negative_prompt;
        g.seed = r.seed;
        g.steps = r.steps;
        g.guidance_scale = r.guidance_scale;
        g.scheduler = parse_scheduler(r.scheduler);
        g.width = r.width;
        g.height = r.height;
        if (!r.start_image.empty()) {
            auto picture = std::make_shared<const Image8>(read_image(r.start_image));
            if (r.read_picture)
                g.reading = ImageReading{picture, r.start_image, timestep_list(r.reading_timesteps),
                                         r.reading_noises};
            else
                g.start_image = StartImage{picture, r.start_image, r.strength};
        }
        auto fresh = std::make_unique<Session>(model, g);
        fresh->router().set_default_backend(r.backend);
        for (const auto& [key, name] : site_backends)
            fresh->router().set_site_backend(key.first,
                                             key.second ? AttentionKind::Self : AttentionKind::Cross, name);
        return fresh;
    }

    void new_session(std::unique_ptr<Session> fresh) {
        // A comparison and branches are of the previous generation.
        comparison.reset();
        branches.clear();
        session.reset();
        store = std::make_unique<CaptureStore>();
        session = std::move(fresh);
        session->router().add_observer(store.get());
        captures_replaced(0);
        const std::lock_guard<std::mutex> lock(mutex);
        preview = {};
        images = {};
        ++snap.images_version;
        views_valid = false;
    }

    void do_step(const std::string& what = "step") {
        const int n = session->total_steps();
        set_task(what + " " + std::to_string(session->current_step() + 1) + "/" + std::to_string(n),
                 static_cast<float>(session->current_step()) / n);
        store->begin_step(session->current_step());
        session->step();
        invalidate_views();
        publish();
    }

    Session& need_session() const {
        if (!session)
            throw std::runtime_error(pipeline ? "no session: start one (New session)"
                                              : "no session: load a model first");
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

    // The model in `dtype`: the loaded one, or the same files loaded again in that dtype (kept for the next
    // comparison).
    std::shared_ptr<const Pipeline> pipeline_in(at::ScalarType dtype) {
        if (pipeline->unet.dtype() == dtype) return pipeline;
        if (!other_dtype || other_dtype->unet.dtype() != dtype) {
            auto o = pipeline_options;
            o.dtype = dtype;
            other_dtype.reset();
            other_dtype = load_pipeline(model_path, o, [this, dtype](double f, const std::string& what) {
                check_cancel();
                set_task("loading the model in " + dtype_short_name(dtype) + ": " + what,
                         static_cast<float>(f));
            });
        }
        return other_dtype;
    }

    // B's model for one comparison (not kept): `path` (A's when empty) in `dtype` with `loras` added.
    std::shared_ptr<const Pipeline> model_for_b(const std::string& path, at::ScalarType dtype,
                                                const std::vector<LoraChoice>& loras) {
        auto o = pipeline_options;
        o.dtype = dtype;
        o.loras.insert(o.loras.end(), loras.begin(), loras.end());
        return load_pipeline(path.empty() ? model_path : path, o, [this](double f, const std::string& what) {
            check_cancel();
            set_task("loading B's model: " + what, static_cast<float>(f));
        });
    }

    void run_comparison(const CompareChoice& choice) {
        auto& s = need_session();
        if (choice.from_step < 0 || choice.from_step >= s.total_steps())
            throw std::invalid_argument("a comparison starts at a step from 1 to " +
                                        std::to_string(s.total_steps()));
        while (s.current_step() < choice.from_step) {
            check_cancel();
            do_step("the session to the shared step: step");
        }
        const auto b_dtype = choice.dtype.empty() ? pipeline->unet.dtype()
                                                  : parse_dtype(choice.dtype, pipeline->unet.device());
        const bool other_model = !choice.loras.empty() || !choice.model.empty();
        if (other_model && choice.same_inputs)
            throw std::invalid_argument(std::string(choice.model.empty() ? "a LoRA" : "another checkpoint") +
                                        " changes q, k and v themselves, which same inputs would replace "
                                        "by A's: compare models free running");
        const auto b_pipeline =
            other_model ? model_for_b(choice.model, b_dtype, choice.loras) : pipeline_in(b_dtype);
        ComparisonSummary labels;
        labels.a = s.router().default_backend() + (site_backends.empty() ? "" : " (+ site choices)") + " " +
                   dtype_short_name(pipeline->unet.dtype());
        labels.b = choice.backend + " " + dtype_short_name(b_dtype);
        if (!choice.model.empty())
            labels.b += " of " + std::filesystem::path(choice.model).filename().string();
        for (const auto& l : choice.loras) {
            char scale[32];
            std::snprintf(scale, sizeof scale, "%.3g", l.scale);
            labels.b += " + " + std::filesystem::path(l.path).filename().string() + " at " + scale;
        }
        const auto mode = choice.same_inputs ? CompareMode::SameInputs : CompareMode::FreeRunning;
        labels.mode = to_string(mode);
        auto run = std::make_unique<ComparisonRun>(
            s, choice.from_step, CompareSide{b_pipeline == pipeline ? nullptr : b_pipeline, choice.backend},
            mode, labels);
        while (!run->done()) {
            check_cancel();
            const int k = run->current_step(), n = run->total_steps();
            set_task("comparing " + labels.a + " with " + labels.b + ": step " + std::to_string(k + 1) + "/" +
                         std::to_string(n),
                     static_cast<float>(k - choice.from_step) / (n - choice.from_step));
            run->step();
        }
        set_task("decoding the compared images", 1);
        auto pair = run->images();
        comparison = std::move(run);
        const std::lock_guard<std::mutex> lock(mutex);
        images.compare = std::move(pair);
        ++snap.images_version;
        views_valid = false;
    }

    void run_branch(int from_step, const std::vector<std::string>& texts) {
        auto& s = need_session();
        if (from_step < 0 || from_step >= s.total_steps())
            throw std::invalid_argument("a branch starts at a step from 1 to " +
                                        std::to_string(s.total_steps()));
        // Read before the original runs on, so a bad edit is told at once.
        auto edits = parse_edits(texts, s);
        while (!s.done()) {
            check_cancel();
            do_step("the original to its end: step");
        }
        auto run = std::make_unique<BranchRun>(next_branch_id, s, from_step, std::move(edits), texts);
        while (!run->done()) {
            check_cancel();
            const int k = run->current_step(), n = run->total_steps();
            set_task("branch " + std::to_string(next_branch_id) + ": step " + std::to_string(k + 1) + "/" +
                         std::to_string(n),
                     static_cast<float>(k - from_step) / (n - from_step));
            run->step();
        }
        set_task("decoding the branch", 1);
        run->finish(s);
        branches.push_back(std::move(run));
        ++next_branch_id;
        invalidate_views();
    }

    // The branch a request shows: the one with its id, else the newest; nullptr when none is kept.
    const BranchRun* shown_branch(const ViewRequest& v) const {
        for (const auto& b : branches)
            if (b->summary().id == v.branch) return b.get();
        return branches.empty() ? nullptr : branches.back().get();
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
        v.step = resolve_step(v);
        v.steps_from = v.steps_from < 0 || v.step < 0 ? -1 : std::min(v.steps_from, v.step);
        if (preview.step != v.step || preview.width == 0) {
            set_task("decoding the preview", 0);
            auto image = v.step < 0 ? session->image(Decoder::Fast) : session->preview(v.step, Decoder::Fast);
            auto rgb = to_rgb(image, v.step, !pipeline->taesd);
            const std::lock_guard<std::mutex> lock(mutex);
            preview = std::move(rgb);
            ++snap.preview_version;
        }
        const auto* branch = shown_branch(v);
        const int branch_id = branch ? branch->summary().id : -1;
        {
            const std::lock_guard<std::mutex> lock(mutex);
            if (images.branch_id != branch_id) {
                images.branch = branch ? branch->images() : ImagePair{};
                images.branch_id = branch_id;
                ++snap.images_version;
            }
        }
        set_task("computing maps", 0);
        auto results = compute_maps({*session, *store, comparison.get(), branch}, v, on_device,
                                    [this] { check_cancel(); });
        try {
            results.token_mass =
                token_mass.update(*store, session->prompt_tokens().length, session->negative_tokens().length);
        } catch (const std::exception& e) {
            results.token_mass_error = e.what();
        }
        const std::lock_guard<std::mutex> lock(mutex);
        maps = std::move(results);
        ++snap.maps_version;
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

void Worker::load(const std::string& path, const std::vector<LoraChoice>& loras,
                  const RunSettings& settings) {
    impl_->enqueue([this, path, loras, settings] {
        auto& w = *impl_;
        PipelineOptions o;
        o.loras = loras;
        o.device = w.options.device.empty() ? at::Device(at::hasCUDA() ? at::kCUDA : at::kCPU)
                                            : at::Device(w.options.device);
        o.dtype = parse_dtype(w.options.dtype, o.device);
        w.set_task("loading " + path, 0);
        const auto progress = [&w](double f, const std::string& what) {
            w.check_cancel();
            w.set_task(what, static_cast<float>(f));
        };
        // "preset:sd15" and the like: SD's full-size topology with random weights, to see the speed and
        // memory of a real-size model where no weights are at hand (its maps mean nothing).
        const std::string preset_prefix = "preset:";
        auto loaded = path.rfind(preset_prefix, 0) == 0
                          ? random_pipeline(path.substr(preset_prefix.size()), settings.seed, o.dtype,
                                            o.device, progress)
                          : load_pipeline(path, o, progress);
        // Only a model that loaded, with settings it can run, replaces the previous one.
        auto fresh = w.make_session(loaded, settings);
        w.comparison.reset();
        w.branches.clear();
        w.session.reset();
        w.store.reset();
        w.other_dtype.reset();
        w.pipeline = std::move(loaded);
        w.model_path = path;
        w.pipeline_options = o;
        w.publish();
        w.new_session(std::move(fresh));
    });
}

void Worker::start_session(const RunSettings& settings) {
    impl_->enqueue([this, settings] {
        if (!impl_->pipeline) throw std::runtime_error("no model loaded");
        impl_->new_session(impl_->make_session(impl_->pipeline, settings));
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
        impl_->captures_replaced(step);
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

void Worker::compare(const CompareChoice& b) {
    impl_->enqueue([this, b] { impl_->run_comparison(b); });
}

void Worker::drop_comparison() {
    impl_->enqueue([this] {
        auto& w = *impl_;
        w.comparison.reset();
        const std::lock_guard<std::mutex> lock(w.mutex);
        w.images.compare = {};
        ++w.snap.images_version;
        w.views_valid = false;
    });
}

void Worker::branch(int from_step, const std::vector<std::string>& edits) {
    impl_->enqueue([this, from_step, edits] { impl_->run_branch(from_step, edits); });
}

void Worker::drop_branch(int id) {
    impl_->enqueue([this, id] {
        auto& b = impl_->branches;
        b.erase(std::remove_if(b.begin(), b.end(), [id](const auto& r) { return r->summary().id == id; }),
                b.end());
        impl_->invalidate_views();
    });
}

void Worker::inspect_int8(const Int8Key& call) {
    impl_->enqueue([this, call] {
        auto& w = *impl_;
        w.need_session();
        if (call.capture != w.capture_version)
            throw std::runtime_error(
                "int8 inspection: the captured steps have changed since it was asked for");
        w.set_task("int8 inspection of step " + std::to_string(call.step + 1) + ", index " +
                       std::to_string(call.index),
                   0);
        auto result = inspect_captured(*w.store, call);
        const std::lock_guard<std::mutex> lock(w.mutex);
        w.int8 = std::move(result);
        ++w.snap.int8_version;
    });
}

void Worker::sweep_lora(size_t lora, int scales, double last, const std::vector<int64_t>& tokens) {
    impl_->enqueue([this, lora, scales, last, tokens] {
        auto& w = *impl_;
        const auto& s = w.need_session();
        const auto runs = attnscope::sweep_lora(w.pipeline, s.settings(), lora, sweep_scales(scales, last),
                                                tokens, [&w](double f, const std::string& what) {
                                                    w.check_cancel();
                                                    w.set_task("LoRA sweep: " + what, static_cast<float>(f));
                                                });
        const Colormaps colormaps;
        const auto strip = lora_sweep_strip(runs, colormaps.lut(Colormap::Viridis));
        SweepView v;
        v.lora = w.pipeline->loras.at(lora).path;
        for (const auto t : tokens)
            v.tokens += (v.tokens.empty() ? "" : " ") + s.prompt_tokens().display.at(t);
        for (const auto& r : runs) v.scales.push_back(r.scale);
        v.strip = {strip.strip.width, strip.strip.height, strip.strip.pixels, -1, true};
        v.tile_width = static_cast<int>(runs.front().map.size(1));
        v.tile_height = static_cast<int>(runs.front().map.size(0));
        v.gap = strip.gap;
        v.lo = strip.range.lo;
        v.hi = strip.range.hi;
        v.runs_json = lora_sweep_runs_json(runs).dump();
        const std::lock_guard<std::mutex> lock(w.mutex);
        w.sweep = std::make_shared<const SweepView>(std::move(v));
        ++w.snap.sweep_version;
    });
}

void Worker::walk(const WalkKey& key) {
    impl_->enqueue([this, key] {
        auto& w = *impl_;
        const auto& session = w.need_session();
        if (key.capture != w.capture_version)
            throw std::runtime_error("walk-through: the captured steps have changed since it was asked for");
        w.set_task("walk-through: replaying step " + std::to_string(key.step + 1) + " to index " +
                       std::to_string(key.index),
                   0);
        auto result = w.walk_run.walk(session, *w.store, key);
        const std::lock_guard<std::mutex> lock(w.mutex);
        w.walk = std::move(result);
        ++w.snap.walk_version;
    });
}

void Worker::cancel() {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->jobs.clear();
    impl_->cancel = true;
}

void Worker::set_tf32(bool on) {
    impl_->enqueue([this, on] {
        attnscope::set_tf32(on);
        impl_->publish();
    });
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

bool Worker::take_images(PairImages& out, uint64_t& version) const {
    return impl_->take(impl_->images, impl_->snap.images_version, out, version);
}

bool Worker::take_int8(Int8View& out, uint64_t& version) const {
    return impl_->take(impl_->int8, impl_->snap.int8_version, out, version);
}

bool Worker::take_walk(WalkView& out, uint64_t& version) const {
    return impl_->take(impl_->walk, impl_->snap.walk_version, out, version);
}

bool Worker::take_sweep(std::shared_ptr<const SweepView>& out, uint64_t& version) const {
    return impl_->take(impl_->sweep, impl_->snap.sweep_version, out, version);
}

bool Worker::idle() const {
    const std::lock_guard<std::mutex> lock(impl_->mutex);
    return !impl_->running && impl_->jobs.empty() && !impl_->needs_views();
}

} // namespace attnscope::gui
