#pragma once
// What a training run carries from step to step and across calls: the fp32 master parameters, their
// EMA, AdamW's moments and the step count. Randomness is re-derived from (seed, step) every step, so
// the step count is the whole RNG state. Checkpoints are a folder of safetensors files plus state.json,
// each file under 16 MiB for the tiny model, written atomically.
#include <ATen/ATen.h>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace attnscope::tiny {

struct AdamWOptions {
    double beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.01;
};

class TrainState {
  public:
    TrainState(at::Tensor initial, at::Tensor decay_mask);

    // One AdamW step on the master with this (already clipped) gradient; counts the step.
    void adamw_step(const at::Tensor& grad, double lr, const AdamWOptions& o);
    // ema <- decay * ema + (1 - decay) * master
    void update_ema(double decay);

    const at::Tensor& master() const { return master_; }
    const at::Tensor& ema() const { return ema_; }
    int64_t step() const { return step_; }

    // `info` (the run's settings) goes into state.json; load() returns it for the caller to compare.
    // The moments are stored as bf16 and the EMA as fp16 to keep a checkpoint small enough to travel;
    // the master stays fp32.
    void save(const std::string& dir, const nlohmann::json& info) const;
    static bool exists(const std::string& dir);
    // Throws naming the file when a piece is missing or has another size than `master` here.
    nlohmann::json load(const std::string& dir);
    // Starts from another run's weights (master and EMA) with fresh optimizer moments at step 0: a
    // fine-tune. Returns that checkpoint's state.json.
    nlohmann::json load_weights(const std::string& dir);
    // The same from bare weights (an exported model's): master and EMA both start there.
    void start_from(const at::Tensor& weights);

  private:
    void restart_optimizer(); // fresh moments, step 0
    nlohmann::json load_from(const std::string& dir, const nlohmann::json& state, bool weights_only);
    at::Tensor master_, ema_, m_, v_, decay_mask_;
    int64_t step_ = 0;
};

} // namespace attnscope::tiny
