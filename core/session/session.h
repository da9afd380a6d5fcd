#pragma once
// One generation, one denoising step at a time: the state the visualizer scrubs through. Every step's
// latents, x0 estimate and model output are kept, so the user can go back to any step and run on from there.
// Same settings and seed give the same image as diffusers' StableDiffusionPipeline with a CPU generator.
#include "attention/router.h"
#include "io/image8.h"
#include "model/unet_graph.h"
#include "pipeline.h"
#include "sched/scheduler.h"
#include "torch_generator.h"

#include <ATen/ATen.h>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnscope {

// Image-to-image: the run starts from a picture noised to the strength's level instead of from pure noise,
// as diffusers' StableDiffusionImg2ImgPipeline does.
struct StartImage {
    std::shared_ptr<const Image8> image; // as read, any size: fitted to the generation's (image_input.h)
    std::string source;                  // where it came from, for summaries
    double strength = 0.75; // (0, 1]: the share of the schedule that runs; 1 keeps nothing of the picture
};

// Attention on an existing picture: nothing is denoised. Each step noises the picture (its VAE posterior's
// mean) to one of `timesteps` with a fresh draw and runs the U-Net once, so the steps' attention, averaged,
// is of that picture (DAAM on real images; DiffSegmenter-style averaging over timesteps and noises).
struct ImageReading {
    std::shared_ptr<const Image8> image; // as read, any size: fitted to the session's (image_input.h)
    std::string source;
    std::vector<int> timesteps{200, 400, 600};
    int noises = 2; // draws per timestep: the steps are the timesteps, once per draw
};

// The reading's steps in order: every timestep with the first draw, then with the second, ...
std::vector<int> reading_timesteps(const ImageReading& reading);

struct GenerationSettings {
    std::string prompt;
    std::string negative_prompt;
    uint64_t seed = 0;
    int steps = 20;
    // Classifier-free guidance; at 1 or below the unconditional half is skipped. None: the model's own
    // (Pipeline::default_guidance), which a Session fills in.
    std::optional<double> guidance_scale;
    SchedulerKind scheduler = SchedulerKind::DDIM;
    int width = 0, height = 0; // pixels; 0 takes the model's native size
    std::optional<StartImage> start_image;
    std::optional<ImageReading> reading; // steps then follows from it
};

// The step of `steps` at which a run from a picture starts: diffusers' t_start = steps - int(steps *
// strength). Throws std::invalid_argument for a strength outside (0, 1] or one that leaves no step to run.
int first_step_for_strength(int steps, double strength);

struct StepInfo {
    int index = 0;           // 0-based
    double timestep = 0;     // what the U-Net was given
    double unet_ms = 0;      // the U-Net forward (both CFG halves), GPU work included
    double step_ms = 0;      // the whole step: U-Net, guidance, scheduler
    bool cuda_graph = false; // the U-Net ran as a replayed CUDA graph (model/unet_graph.h)
};

class Session {
  public:
    // Tokenizes and encodes both prompts and draws the initial noise. Throws std::invalid_argument for bad
    // settings (size, steps, guidance) naming the setting.
    Session(std::shared_ptr<const Pipeline> pipeline, GenerationSettings settings);

    const GenerationSettings& settings() const { return settings_; }
    const Pipeline& pipeline() const { return *pipeline_; }
    const ClipEncoding& prompt_tokens() const { return prompt_tokens_; }
    const ClipEncoding& negative_tokens() const { return negative_tokens_; }
    // SDXL's second tokenizer's split of the prompt; none for a model with one text encoder.
    const std::optional<ClipEncoding>& prompt_tokens_2() const { return prompt_tokens_2_; }
    const Scheduler& scheduler() const { return *scheduler_; }
    // Attention of every U-Net call goes through here: set backends per site, add observers.
    AttentionRouter& router() { return router_; }
    const AttentionRouter& router() const { return router_; }
    // How the last step's U-Net ran: "replayed a CUDA graph", or "eager: " and why.
    const std::string& unet_run() const { return unet_graph_.why(); }
    double guidance_scale() const { return *settings_.guidance_scale; }
    bool guided() const { return guidance_scale() > 1.0; }

    // Steps this run makes; a run from a picture makes only the last ones of settings().steps.
    int total_steps() const { return scheduler_->num_steps(); }
    // Where a run from a picture joined the schedule of settings().steps: 0 for a run from noise.
    int first_scheduled_step() const { return first_step_; }
    int current_step() const { return current_; } // steps done so far
    bool done() const { return current_ == total_steps(); }

    // Runs the next denoising step. Throws std::logic_error when done; OutOfMemory (util/out_of_memory.h),
    // naming the step and what needed the memory, when the device runs out of it. A step that throws leaves
    // the session at the step it was at.
    StepInfo step();
    // Goes back to just before step `step` (0..current_step()); later steps are dropped and run anew by
    // step().
    void rewind(int step);
    // A new session that starts where this one was just before step `step` (0..current_step()): the same
    // settings, latents, scheduler history and noise generator, so stepping it unchanged repeats this
    // session's steps exactly. It has its own router with this one's backend choices and no observers or
    // edits. `pipeline` runs it on another precision or device of the same model (the prompts are encoded
    // anew there and the kept tensors converted); null keeps this session's.
    Session branch(int step, std::shared_ptr<const Pipeline> pipeline = nullptr) const;

    // Runs the U-Net of step `step` (0..current_step()-1) again on its kept latents, with this session's
    // backend choices and edit, showing its attention calls to `observer` alone: what a capture did not
    // keep (V, the hidden states) comes back exactly as the step saw it. Returns the U-Net's output (both
    // guidance halves, the negative prompt's first). The session does not change.
    at::Tensor replay(int step, AttentionObserver& observer) const;

    const at::Tensor& latents() const { return latents_.at(current_); }
    const at::Tensor& latents_before(int step) const { return latents_.at(step); } // 0..current_step()
    const at::Tensor& x0_at(int step) const { return x0_.at(step); }               // 0..current_step()-1
    const std::vector<StepInfo>& history() const { return info_; }

    // The current latents decoded (the final image once done), float32 (1, 3, H, W) in [0, 1] on the CPU.
    at::Tensor image(Decoder decoder = Decoder::Full) const;
    // What step `step` predicted the final image to be (its x0), decoded the same way.
    at::Tensor preview(int step, Decoder decoder = Decoder::Fast) const;

  private:
    Session(const Session& from, int step, std::shared_ptr<const Pipeline> pipeline);
    void encode_prompts();
    void draw_start_latents(); // noise, or the picture noised to the first step's level
    void build_scheduler();    // settings_'s sampler, or the reading schedule over clean_
    void replay_scheduler();   // rebuilds a multistep scheduler's memory from the kept steps
    at::Tensor predict_noise(const at::Tensor& sample, int step_index, double& unet_ms);
    // Through `graph` where one is given (the session's own steps), else eagerly (replays).
    at::Tensor unet_forward(const at::Tensor& sample, int step_index, AttentionRouter& router,
                            UNetGraph* graph = nullptr) const;

    std::shared_ptr<const Pipeline> pipeline_;
    GenerationSettings settings_;
    ClipEncoding prompt_tokens_, negative_tokens_;
    std::optional<ClipEncoding> prompt_tokens_2_;
    at::Tensor context_;    // (2, 77, width) [negative; prompt] with guidance, else (1, 77, width)
    AddedConditions added_; // SDXL's pooled text and micro-conditioning, batched as context_
    int first_step_ = 0;
    at::Tensor clean_; // a reading's picture as latents
    std::unique_ptr<Scheduler> scheduler_;
    AttentionRouter router_;
    UNetGraph unet_graph_;
    TorchCpuGenerator generator_;

    int current_ = 0;
    std::vector<at::Tensor> latents_;           // latents_[k]: before step k
    std::vector<at::Tensor> x0_, model_output_; // per step done
    std::vector<at::Tensor> noise_;             // ancestral noise per step (undefined for other schedulers)
    std::vector<TorchCpuGenerator> generator_before_;
    std::vector<StepInfo> info_;
};

} // namespace attnscope
