// The schedulers that step in alphas_cumprod: DDIM (eta 0) and PNDM in PLMS mode (skip_prk_steps).
#include "scheduler_impl.h"

#include <cmath>
#include <deque>
#include <stdexcept>

namespace attnscope::sched_detail {
namespace {

// diffusers indexes its float32 table with the integer timestep; below 0 both classes fall back to
// alphas_cumprod[0], because the SD config has set_alpha_to_one = false.
float alpha_at(int t) {
    const auto& ac = sd_alphas_cumprod();
    return t >= 0 ? ac.at(static_cast<std::size_t>(t)) : ac.front();
}

// Leading spacing with the offset puts 1000 steps' first timestep at 1000, past the trained 0..999 (diffusers
// indexes past its table there too): refused, with the count that works.
void check_leading_steps(SchedulerKind kind, int steps, int step_ratio) {
    if ((steps - 1) * step_ratio + 1 < kTrainTimesteps) return;
    throw std::invalid_argument(
        to_string(kind) + " scheduler: " + std::to_string(steps) + " steps would start at timestep " +
        std::to_string(kTrainTimesteps) + ", past the trained 0.." + std::to_string(kTrainTimesteps - 1) +
        " (SD's steps_offset of 1); use at most " + std::to_string(kTrainTimesteps - 1) + " steps");
}

// x0 from the sample and the raw model output, as DDIM's step computes it.
at::Tensor x0_from_alpha(Prediction prediction, const at::Tensor& model_output, const at::Tensor& sample,
                         float alpha_prod_t) {
    const float sqrt_a = std::sqrt(alpha_prod_t);
    const float sqrt_b = std::sqrt(1.0f - alpha_prod_t);
    if (prediction == Prediction::Epsilon) return (sample - model_output * f64(sqrt_b)) / f64(sqrt_a);
    return sample * f64(sqrt_a) - model_output * f64(sqrt_b);
}

// diffusers' add_noise of DDIM and PNDM: the float32 table converted to the sample's dtype, then the roots.
at::Tensor add_noise_at(int t, const at::Tensor& x0, const at::Tensor& noise) {
    const float a = alpha_at(t);
    if (x0.scalar_type() == at::kDouble) return x0 * std::sqrt(f64(a)) + noise * std::sqrt(1.0 - f64(a));
    return x0 * f64(std::sqrt(a)) + noise * f64(std::sqrt(1.0f - a));
}

class DDIMScheduler final : public Scheduler {
  public:
    DDIMScheduler(Prediction prediction, int steps, TimestepSpacing spacing)
        : Scheduler(SchedulerKind::DDIM, prediction, steps), step_ratio_(kTrainTimesteps / steps) {
        // "leading" spacing (DDIM's default) shifted by the config's steps_offset of 1: 981, 961, ..., 1; or
        // a Turbo model's "trailing": 999, ..., 49.
        if (spacing != TimestepSpacing::Trailing) check_leading_steps(kind_, steps, step_ratio_);
        const auto ts = spaced_timesteps(spacing, steps);
        timesteps_.assign(ts.rbegin(), ts.rend());
    }

    at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const override {
        return add_noise_at(static_cast<int>(timesteps_.front()), x0, noise);
    }

  protected:
    StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                       const at::Tensor& /*noise*/) override {
        const int t = static_cast<int>(timesteps_[step_index]);
        // The previous timestep comes from the ratio, not from the list: for the last step it is negative.
        const float alpha_t = alpha_at(t);
        const float alpha_prev = alpha_at(t - step_ratio_);
        const float sqrt_a = std::sqrt(alpha_t);
        const float sqrt_b = std::sqrt(1.0f - alpha_t);

        at::Tensor x0;
        at::Tensor eps;
        if (prediction_ == Prediction::Epsilon) {
            x0 = (sample - model_output * f64(sqrt_b)) / f64(sqrt_a);
            eps = model_output;
        } else {
            x0 = sample * f64(sqrt_a) - model_output * f64(sqrt_b);
            eps = model_output * f64(sqrt_a) + sample * f64(sqrt_b);
        }
        // eta = 0: no variance term, so the direction coefficient is sqrt(1 - alpha_prev - 0).
        const at::Tensor direction = eps * f64(std::sqrt(1.0f - alpha_prev - 0.0f));
        return {x0 * f64(std::sqrt(alpha_prev)) + direction, x0};
    }

  private:
    const int step_ratio_;
};

class PNDMScheduler final : public Scheduler {
  public:
    PNDMScheduler(Prediction prediction, int steps, TimestepSpacing spacing)
        : Scheduler(SchedulerKind::PNDM, prediction, steps), step_ratio_(kTrainTimesteps / steps) {
        if (spacing != TimestepSpacing::Trailing) check_leading_steps(kind_, steps, step_ratio_);
        // Leading spacing + offset, ascending: 1, 21, ..., 981 for 50 steps (or trailing's). PLMS runs them
        // descending with the second-highest repeated (981, 961, 961, 941, ...): the repeat is the Heun-like
        // bootstrap step.
        const std::vector<int> base = spaced_timesteps(spacing, steps);
        std::vector<int> plms(base.begin(), base.end() - 1);
        if (base.size() >= 2) plms.push_back(base[base.size() - 2]);
        plms.push_back(base.back());
        for (auto it = plms.rbegin(); it != plms.rend(); ++it) timesteps_.push_back(*it);
    }

    at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const override {
        return add_noise_at(static_cast<int>(timesteps_.front()), x0, noise);
    }

  protected:
    StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                       const at::Tensor& /*noise*/) override {
        int t = static_cast<int>(timesteps_[step_index]);
        int prev_t = t - step_ratio_;
        at::Tensor x = sample;
        at::Tensor combined;
        if (counter_ != 1) {
            if (ets_.size() > 3) ets_.pop_front();
            ets_.push_back(model_output);
        } else {
            // The bootstrap step redoes the first step from the first sample, with the two outputs averaged.
            prev_t = t;
            t = t + step_ratio_;
        }
        const std::size_t n = ets_.size();
        if (n == 1 && counter_ == 0) {
            combined = model_output;
            first_sample_ = sample;
        } else if (n == 1 && counter_ == 1) {
            combined = (model_output + ets_.back()) / 2;
            x = first_sample_;
            first_sample_ = at::Tensor();
        } else if (n == 2) {
            combined = (ets_[1] * 3 - ets_[0]) / 2;
        } else if (n == 3) {
            combined = (ets_[2] * 23 - ets_[1] * 16 + ets_[0] * 5) / 12;
        } else {
            combined = (ets_[3] * 55 - ets_[2] * 59 + ets_[1] * 37 - ets_[0] * 9) * (1.0 / 24);
        }
        at::Tensor prev = prev_sample(x, t, prev_t, combined);
        ++counter_;
        // PNDM has no x0 of its own; this is DDIM's estimate at the step's own timestep and sample.
        const float alpha_here = alpha_at(static_cast<int>(timesteps_[step_index]));
        return {std::move(prev), x0_from_alpha(prediction_, model_output, sample, alpha_here)};
    }

    void clear_history() override {
        counter_ = 0;
        ets_.clear();
        first_sample_ = at::Tensor();
    }

  private:
    // Formula (9) of the PNDM paper. For v-prediction diffusers converts the already combined output to
    // epsilon here (with the sample being stepped), not each stored output, and so does this.
    at::Tensor prev_sample(const at::Tensor& x, int t, int prev_t, at::Tensor out) const {
        const float alpha_t = alpha_at(t);
        const float alpha_prev = alpha_at(prev_t);
        const float beta_t = 1.0f - alpha_t;
        const float beta_prev = 1.0f - alpha_prev;
        if (prediction_ == Prediction::VPrediction) {
            out = out * f64(std::sqrt(alpha_t)) + x * f64(std::sqrt(beta_t));
        }
        const float sample_coeff = std::sqrt(alpha_prev / alpha_t);
        const float denom = alpha_t * std::sqrt(beta_prev) + std::sqrt(alpha_t * beta_t * alpha_prev);
        return x * f64(sample_coeff) - out * f64(alpha_prev - alpha_t) / f64(denom);
    }

    const int step_ratio_;
    int counter_ = 0;
    std::deque<at::Tensor> ets_; // raw model outputs of the last (up to) four distinct timesteps
    at::Tensor first_sample_;
};

class ReadingScheduler final : public Scheduler {
  public:
    ReadingScheduler(Prediction prediction, const std::vector<int>& timesteps, at::Tensor clean)
        : Scheduler(SchedulerKind::Reading, prediction, static_cast<int>(timesteps.size())),
          clean_(std::move(clean)) {
        for (const int t : timesteps) {
            if (t < 0 || t >= kTrainTimesteps)
                throw std::invalid_argument("timestep " + std::to_string(t) + " is outside the trained 0.." +
                                            std::to_string(kTrainTimesteps - 1));
            timesteps_.push_back(t);
        }
    }

    at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const override {
        return add_noise_at(static_cast<int>(timesteps_.front()), x0, noise);
    }
    // Each step draws the next step's noise.
    bool stochastic() const override { return true; }

  protected:
    StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                       const at::Tensor& noise) override {
        const auto x0 = x0_from_alpha(prediction_, model_output, sample,
                                      alpha_at(static_cast<int>(timesteps_[step_index])));
        const bool last = step_index + 1 == num_steps();
        const auto clean = clean_.to(sample.device(), sample.scalar_type());
        return {last ? clean : add_noise_at(static_cast<int>(timesteps_[step_index + 1]), clean, noise), x0};
    }

  private:
    const at::Tensor clean_;
};

} // namespace

std::unique_ptr<Scheduler> make_ddim(Prediction prediction, int steps, TimestepSpacing spacing) {
    return std::make_unique<DDIMScheduler>(prediction, steps, spacing);
}

std::unique_ptr<Scheduler> make_pndm(Prediction prediction, int steps, TimestepSpacing spacing) {
    return std::make_unique<PNDMScheduler>(prediction, steps, spacing);
}

} // namespace attnscope::sched_detail

namespace attnscope {

std::unique_ptr<Scheduler> make_reading_scheduler(Prediction prediction, const std::vector<int>& timesteps,
                                                  at::Tensor clean) {
    return std::make_unique<sched_detail::ReadingScheduler>(prediction, timesteps, std::move(clean));
}

} // namespace attnscope
