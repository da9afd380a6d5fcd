#include "session.h"

#include "gpu_info.h"
#include "image_input.h"
#include "util/out_of_memory.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace attnscope {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void check_reading(GenerationSettings& s) {
    if (s.start_image)
        throw std::invalid_argument("a session either reads a picture or starts from one, not both");
    const auto& r = *s.reading;
    if (!r.image) throw std::invalid_argument("the picture to read is empty");
    if (r.timesteps.empty()) throw std::invalid_argument("a reading needs at least one timestep");
    if (r.noises < 1 || r.noises > kTrainTimesteps)
        throw std::invalid_argument("noises per timestep must be in 1.." + std::to_string(kTrainTimesteps));
    const auto n = r.timesteps.size() * static_cast<std::size_t>(r.noises);
    if (n > static_cast<std::size_t>(kTrainTimesteps))
        throw std::invalid_argument("a reading of " + std::to_string(n) + " U-Net runs is more than " +
                                    std::to_string(kTrainTimesteps));
    s.steps = static_cast<int>(n);
}

GenerationSettings checked(GenerationSettings s, const Pipeline& p) {
    if (s.reading) check_reading(s);
    if (s.steps < 1 || s.steps > kTrainTimesteps)
        throw std::invalid_argument("steps " + std::to_string(s.steps) + " is outside 1.." +
                                    std::to_string(kTrainTimesteps));
    if (!s.guidance_scale) s.guidance_scale = p.default_guidance();
    if (!std::isfinite(*s.guidance_scale) || *s.guidance_scale < 0)
        throw std::invalid_argument("guidance scale must be a finite number >= 0");
    if (s.start_image && !s.start_image->image) throw std::invalid_argument("the start image is empty");
    const Image8* picture = s.start_image ? s.start_image->image.get()
                            : s.reading   ? s.reading->image.get()
                                          : nullptr;
    const auto [w, h] = picture && s.width == 0 && s.height == 0
                            ? size_for_picture(*picture, p.native_size().first, p.native_size().second)
                            : p.native_size();
    if (s.width == 0) s.width = w;
    if (s.height == 0) s.height = h;
    p.check_size(s.width, s.height);
    if (s.start_image) first_step_for_strength(s.steps, s.start_image->strength);
    return s;
}

int first_step(const GenerationSettings& s) {
    return s.start_image ? first_step_for_strength(s.steps, s.start_image->strength) : 0;
}

PromptEncoding encode(const Pipeline& p, const std::string& text, const char* what) {
    try {
        return p.encode_prompt(text);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(what) + ": " + e.what());
    }
}

} // namespace

std::vector<int> reading_timesteps(const ImageReading& reading) {
    std::vector<int> steps;
    for (int draw = 0; draw < reading.noises; ++draw)
        steps.insert(steps.end(), reading.timesteps.begin(), reading.timesteps.end());
    return steps;
}

int first_step_for_strength(int steps, double strength) {
    if (!std::isfinite(strength) || strength <= 0 || strength > 1)
        throw std::invalid_argument("strength must be in (0, 1], got " + std::to_string(strength));
    // Python's int(steps * strength) in float64, as diffusers' get_timesteps.
    const int run = std::min(static_cast<int>(steps * strength), steps);
    if (run == 0)
        throw std::invalid_argument("strength " + std::to_string(strength) + " of " + std::to_string(steps) +
                                    " steps runs no step; raise the strength or the steps");
    return steps - run;
}

Session::Session(std::shared_ptr<const Pipeline> pipeline, GenerationSettings settings)
    : pipeline_(std::move(pipeline)), settings_(checked(std::move(settings), *pipeline_)),
      first_step_(first_step(settings_)), generator_(settings_.seed) {
    encode_prompts();
    draw_start_latents();
    generator_before_.push_back(generator_);
}

void Session::build_scheduler() {
    const auto prediction = pipeline_->unet.config().prediction;
    if (settings_.reading) {
        scheduler_ = make_reading_scheduler(prediction, reading_timesteps(*settings_.reading), clean_);
        return;
    }
    scheduler_ =
        attnscope::make_scheduler(settings_.scheduler, prediction, settings_.steps, pipeline_->spacing);
    scheduler_->begin_at(first_step_);
}

void Session::draw_start_latents() {
    const int f = pipeline_->downscale();
    const auto& unet = pipeline_->unet;
    const std::vector<int64_t> shape{1, pipeline_->latent_channels(), settings_.height / f,
                                     settings_.width / f};
    const auto fitted = [&](const Image8& picture) {
        return fit_image(picture, settings_.width, settings_.height);
    };
    // A reading explains the picture, not one draw of it: the posterior's mean.
    if (settings_.reading) clean_ = pipeline_->encode_image(fitted(*settings_.reading->image), nullptr);
    build_scheduler();
    if (settings_.reading) {
        const auto noise = generator_.randn(shape, unet.dtype()).to(unet.device());
        latents_.push_back(scheduler_->add_noise(clean_, noise));
    } else if (settings_.start_image) {
        // As diffusers' img2img: the picture's latents (one draw for the posterior), then the noise draw.
        const auto clean = pipeline_->encode_image(fitted(*settings_.start_image->image), &generator_);
        const auto noise = generator_.randn(shape, unet.dtype()).to(unet.device());
        latents_.push_back(scheduler_->add_noise(clean, noise));
    } else {
        // As diffusers' prepare_latents: CPU noise in the model's dtype, scaled to the first step's level.
        const auto noise = generator_.randn(shape, unet.dtype());
        latents_.push_back(noise.to(unet.device()) * scheduler_->init_noise_sigma());
    }
}

Session::Session(const Session& from, int step, std::shared_ptr<const Pipeline> pipeline)
    : pipeline_(pipeline ? std::move(pipeline) : from.pipeline_), settings_(from.settings_),
      first_step_(from.first_step_), generator_(from.generator_before_.at(step)) {
    if (pipeline_->latent_channels() != from.pipeline_->latent_channels() ||
        pipeline_->downscale() != from.pipeline_->downscale())
        throw std::invalid_argument("a branch must run the same model: " + pipeline_->source +
                                    " has other latents than " + from.pipeline_->source);
    if (pipeline_ == from.pipeline_) {
        prompt_tokens_ = from.prompt_tokens_;
        prompt_tokens_2_ = from.prompt_tokens_2_;
        negative_tokens_ = from.negative_tokens_;
        context_ = from.context_;
        added_ = from.added_;
    } else {
        encode_prompts();
    }
    // Kept tensors are never written in place, so a branch on the same pipeline shares them.
    const auto& unet = pipeline_->unet;
    const auto here = [&](const at::Tensor& t) {
        return t.defined() ? t.to(unet.device(), unet.dtype()) : t;
    };
    clean_ = here(from.clean_);
    build_scheduler();
    for (int i = 0; i <= step; ++i) latents_.push_back(here(from.latents_[i]));
    for (int i = 0; i < step; ++i) {
        x0_.push_back(here(from.x0_[i]));
        model_output_.push_back(here(from.model_output_[i]));
        noise_.push_back(here(from.noise_[i]));
    }
    generator_before_.assign(from.generator_before_.begin(), from.generator_before_.begin() + step + 1);
    info_.assign(from.info_.begin(), from.info_.begin() + step);
    router_.set_default_backend(from.router_.default_backend());
    for (const auto& [site, name] : from.router_.site_backends())
        router_.set_site_backend(site.first, site.second, name);
    current_ = step;
    replay_scheduler();
}

at::Tensor Session::replay(int step, AttentionObserver& observer) const {
    if (step < 0 || step >= current_)
        throw std::out_of_range("cannot replay step " + std::to_string(step + 1) + ": steps 1.." +
                                std::to_string(current_) + " have run");
    AttentionRouter router;
    router.set_default_backend(router_.default_backend());
    for (const auto& [site, name] : router_.site_backends())
        router.set_site_backend(site.first, site.second, name);
    router.set_edit(router_.edit());
    router.add_observer(&observer);
    return unet_forward(latents_.at(step), step, router);
}

Session Session::branch(int step, std::shared_ptr<const Pipeline> pipeline) const {
    if (step < 0 || step > current_)
        throw std::out_of_range("cannot branch at step " + std::to_string(step) + ": steps 0.." +
                                std::to_string(current_) + " are available");
    return Session(*this, step, std::move(pipeline));
}

void Session::encode_prompts() {
    auto prompt = encode(*pipeline_, settings_.prompt, "prompt");
    prompt_tokens_ = std::move(prompt.tokens);
    prompt_tokens_2_ = std::move(prompt.tokens_2);
    at::Tensor pooled = prompt.pooled;
    if (guided()) {
        // SDXL without a negative prompt conditions on zeros, as diffusers' force_zeros_for_empty_prompt.
        auto negative = pipeline_->sdxl() && settings_.negative_prompt.empty()
                            ? PromptEncoding{pipeline_->tokenizer.encode(""), at::zeros_like(prompt.context),
                                             at::zeros_like(prompt.pooled), std::nullopt}
                            : encode(*pipeline_, settings_.negative_prompt, "negative prompt");
        negative_tokens_ = std::move(negative.tokens);
        context_ = at::cat({negative.context, prompt.context});
        if (pooled.defined()) pooled = at::cat({negative.pooled, pooled});
    } else {
        context_ = prompt.context;
    }
    // SDXL's micro-conditioning: the picture is asked for at its own size, uncropped.
    if (pooled.defined()) added_ = default_text_time(pooled, settings_.width, settings_.height);
}

at::Tensor Session::unet_forward(const at::Tensor& sample, int step_index, AttentionRouter& router,
                                 UNetGraph* graph) const {
    const auto input = scheduler_->scale_model_input(sample, step_index);
    const auto batch = guided() ? at::cat({input, input}) : input;
    const auto timestep = at::tensor(scheduler_->timesteps().at(step_index), at::kDouble);
    const auto& unet = pipeline_->unet;
    return graph ? graph->forward(unet, batch, timestep, context_, router, added_)
                 : unet.forward(batch, timestep, context_, router, added_);
}

at::Tensor Session::predict_noise(const at::Tensor& sample, int step_index, double& unet_ms) {
    gpu_synchronize();
    const auto start = Clock::now();
    const auto out = unet_forward(sample, step_index, router_, &unet_graph_);
    gpu_synchronize();
    unet_ms = ms_since(start);
    if (!guided()) return out;
    const auto halves = out.chunk(2);
    return halves[0] + guidance_scale() * (halves[1] - halves[0]);
}

StepInfo Session::step() {
    if (done())
        throw std::logic_error("all " + std::to_string(total_steps()) +
                               " steps are done; rewind to an earlier step to run again");
    const int k = current_;
    const auto start = Clock::now();
    StepInfo info;
    info.index = k;
    info.timestep = scheduler_->timesteps().at(k);
    const auto& sample = latents_.at(k);
    try {
        const auto model_output = predict_noise(sample, k, info.unet_ms);
        info.cuda_graph = unet_graph_.replayed();
        at::Tensor noise;
        if (scheduler_->stochastic())
            noise =
                generator_.randn(model_output.sizes(), model_output.scalar_type()).to(model_output.device());
        const auto result = noise.defined() ? scheduler_->step_with_noise(model_output, k, sample, noise)
                                            : scheduler_->step(model_output, k, sample);
        latents_.push_back(result.prev_sample);
        x0_.push_back(result.pred_original_sample);
        model_output_.push_back(model_output);
        noise_.push_back(noise);
    } catch (const std::exception& e) {
        // Nothing of the step is kept, and the noise generator goes back to where the step found it.
        generator_ = generator_before_.at(k);
        if (!is_out_of_memory(e)) throw;
        const std::string where = "step " + std::to_string(k + 1) + " (" + std::to_string(settings_.width) +
                                  "x" + std::to_string(settings_.height) + " on " +
                                  pipeline_->unet.device().str() + ")";
        if (dynamic_cast<const OutOfMemory*>(&e)) throw OutOfMemory(where + ": " + e.what());
        throw OutOfMemory("out of memory at " + where +
                          ": try a smaller size, f16 precision or a fused attention backend");
    }
    generator_before_.push_back(generator_);
    gpu_synchronize();
    info.step_ms = ms_since(start);
    info_.push_back(info);
    ++current_;
    return info;
}

void Session::rewind(int step) {
    if (step < 0 || step > current_)
        throw std::out_of_range("cannot rewind to step " + std::to_string(step) + ": steps 0.." +
                                std::to_string(current_) + " are available");
    latents_.resize(step + 1);
    x0_.resize(step);
    model_output_.resize(step);
    noise_.resize(step);
    info_.resize(step);
    generator_before_.resize(step + 1);
    generator_ = generator_before_.back();
    current_ = step;
    replay_scheduler();
}

void Session::replay_scheduler() {
    // Multistep schedulers remember earlier outputs: replay the kept ones (no U-Net call) to rebuild that.
    scheduler_->reset();
    for (int i = 0; i < current_; ++i) {
        if (noise_[i].defined())
            scheduler_->step_with_noise(model_output_[i], i, latents_[i], noise_[i]);
        else
            scheduler_->step(model_output_[i], i, latents_[i]);
    }
}

at::Tensor Session::image(Decoder decoder) const {
    return pipeline_->decode(latents(), decoder);
}

at::Tensor Session::preview(int step, Decoder decoder) const {
    return pipeline_->decode(x0_.at(step), decoder);
}

} // namespace attnscope
