#pragma once
// The noise schedulers Stable Diffusion v1/v2 sample with, step for step equal to HuggingFace diffusers
// configured as `Cls.from_config(sd15_scheduler_config)` (scaled_linear betas 0.00085..0.012 over 1000
// training steps, steps_offset 1, set_alpha_to_one false, no clipping) with each class's own defaults for the
// rest.
//
// Precision follows diffusers operation by operation, since "equal" is what the tests check: its tables are
// float32 torch tensors (alphas_cumprod, sigmas) or numpy float64 (Karras ramps, interpolation), and they are
// rounded where diffusers rounds them; the per-step scalars are float32 0-dim tensors there and C++ floats
// here; Euler, Euler a and DPM++ cast the sample to float32 inside step() (a downcast for float64 samples)
// and return the model output's dtype, exactly as diffusers does.
#include "model/unet_config.h"
#include "scheduler_config.h"

#include <ATen/ATen.h>
#include <memory>
#include <string>
#include <vector>

namespace attnscope {

// Reading is no sampler a user picks: it reads a picture instead of denoising one (make_reading_scheduler).
enum class SchedulerKind { DDIM, Euler, EulerAncestral, DPMPP2MKarras, PNDM, Reading };

// "ddim", "euler", "euler_a", "dpmpp_2m_karras", "pndm"; throws std::invalid_argument listing them.
SchedulerKind parse_scheduler(const std::string& name);
std::string to_string(SchedulerKind kind);
const std::vector<SchedulerKind>& all_scheduler_kinds();

// SD's training schedule.
inline constexpr int kTrainTimesteps = 1000;
inline constexpr double kBetaStart = 0.00085;
inline constexpr double kBetaEnd = 0.012;

// alphas_cumprod[t] of the scaled_linear schedule, with the float32 rounding diffusers' table has.
const std::vector<float>& sd_alphas_cumprod();

struct StepResult {
    at::Tensor prev_sample;
    at::Tensor pred_original_sample; // the model's x0 estimate at this step
};

class Scheduler {
  public:
    virtual ~Scheduler() = default;
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    SchedulerKind kind() const { return kind_; }
    Prediction prediction() const { return prediction_; }
    // The U-Net timestep of each model evaluation (diffusers' scheduler.timesteps).
    const std::vector<double>& timesteps() const { return timesteps_; }
    // diffusers' scheduler.sigmas including the trailing 0; empty for DDIM and PNDM, which have none.
    const std::vector<double>& sigmas() const { return sigmas_; }
    // Model evaluations per image. PNDM (PLMS) takes one more than it was asked for: its second step
    // re-evaluates the first timestep's neighbour to bootstrap the multistep formula.
    int num_steps() const { return static_cast<int>(timesteps_.size()); }
    // The standard deviation of the initial latent noise.
    virtual double init_noise_sigma() const { return 1.0; }
    // What the U-Net gets as input at this step: sample / sqrt(sigma^2 + 1) for the Euler family, else
    // sample.
    virtual at::Tensor scale_model_input(const at::Tensor& sample, int step_index) const;
    // Whether step() draws noise (Euler ancestral).
    virtual bool stochastic() const { return false; }

    // Advances from timesteps()[step_index] to the next one. Steps must come in order 0..num_steps()-1
    // (multistep schedulers keep history); reset() starts over. Ancestral noise is at::randn in the model
    // output's dtype from `gen` (default generator when null), made on the CPU and moved when `gen` is a CPU
    // generator and the sample is not: the same recipe as diffusers' randn_tensor, but not the same numbers
    // as a torch.Generator with the same seed. Pass the noise to step_with_noise() to reproduce a diffusers
    // run.
    StepResult step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                    at::Generator* gen = nullptr);
    // step() with the ancestral noise given (shape of the sample). Throws std::logic_error unless
    // stochastic().
    StepResult step_with_noise(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                               const at::Tensor& noise);
    void reset();

    // Image-to-image: drops the first `first` timesteps, so the run starts there with the spacing of the
    // full count, as diffusers' img2img slices scheduler.timesteps and sets the begin index. Only before the
    // first step; throws std::invalid_argument unless 0 <= first < num_steps().
    void begin_at(int first);
    // A clean sample (B, C, h, w) noised to the level of step 0, as diffusers' add_noise at that timestep:
    // sqrt(a) x0 + sqrt(1 - a) noise with a = alphas_cumprod[t] (DDIM, PNDM), x0 + sigma noise (Euler),
    // alpha_t x0 + sigma_t noise in the VP view of sigma (DPM++).
    virtual at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const = 0;

  protected:
    Scheduler(SchedulerKind kind, Prediction prediction, int requested_steps);

    // `noise` is undefined for deterministic schedulers.
    virtual StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                               const at::Tensor& noise) = 0;
    virtual void clear_history() {}
    // Drops the first n entries of a subclass's own per-step tables (begin_at).
    virtual void drop_first(int /*n*/) {}

    const SchedulerKind kind_;
    const Prediction prediction_;
    std::vector<double> timesteps_;
    std::vector<double> sigmas_;

  private:
    void check_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample) const;
    int next_step_ = 0;
};

// `steps`: inference steps as a diffusers pipeline's num_inference_steps (1..1000); `spacing` as a model's
// scheduler config names it (scheduler_config.h).
std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, Prediction prediction, int steps,
                                          TimestepSpacing spacing = TimestepSpacing::ClassDefault);

// Reading a picture instead of denoising one: step k's sample is `clean` (latents as the U-Net sees them)
// noised to timesteps[k] by the training forward process, sqrt(a) clean + sqrt(1 - a) noise with a fresh
// draw each step, and its x0 is the model's estimate of `clean` from there; after the last step the latents
// are `clean` itself. 1..1000 timesteps in 0..999, any order, repeats allowed (several noises at one t).
std::unique_ptr<Scheduler> make_reading_scheduler(Prediction prediction, const std::vector<int>& timesteps,
                                                  at::Tensor clean);

} // namespace attnscope
