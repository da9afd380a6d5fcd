// The schedulers that step in sigma = sqrt((1 - alphas_cumprod) / alphas_cumprod): Euler, Euler ancestral
// and DPM-Solver++ 2M on Karras sigmas.
#include "scheduler_impl.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnscope::sched_detail {
namespace {

// numpy.interp over the training sigmas at fractional timestep x (xp = 0..999), in float64.
double interp_train_sigma(double x) {
    const auto& fp = train_sigmas();
    const int last = static_cast<int>(fp.size()) - 1;
    if (x <= 0) return fp.front();
    if (x >= last) return fp.back();
    const int j = static_cast<int>(std::floor(x));
    if (x == j) return fp[j];
    const double slope = (f64(fp[j + 1]) - f64(fp[j])) / 1.0;
    return slope * (x - j) + f64(fp[j]);
}

// Both prediction types as Euler's step computes them, from the float32 sample.
at::Tensor euler_x0(Prediction prediction, const at::Tensor& model_output, const at::Tensor& x, float sigma) {
    if (prediction == Prediction::Epsilon) return x - model_output * f64(sigma);
    const float c_out = -sigma / std::sqrt(sigma * sigma + 1.0f);
    return model_output * f64(c_out) + x / f64(sigma * sigma + 1.0f);
}

class EulerScheduler final : public Scheduler {
  public:
    EulerScheduler(Prediction prediction, int steps, bool ancestral, TimestepSpacing spacing)
        : Scheduler(ancestral ? SchedulerKind::EulerAncestral : SchedulerKind::Euler, prediction, steps),
          ancestral_(ancestral), leading_(spacing == TimestepSpacing::Leading) {
        // "linspace" spacing (both classes' default; steps_offset does not apply to it): float32 timesteps
        // 999 .. 0. "leading" (SDXL): multiples of 1000 // steps from 0, plus steps_offset 1. "trailing"
        // (the Turbo models): 1000 down in strides of 1000 / steps, rounded, minus 1. Ascending here, run
        // descending. Sigmas are interpolated linearly in t, then rounded to float32, with a final 0.
        std::vector<double> ts = numpy_linspace(0.0, kTrainTimesteps - 1, steps);
        if (spacing != TimestepSpacing::ClassDefault) {
            const auto spaced = spaced_timesteps(spacing, steps);
            ts.assign(spaced.begin(), spaced.end());
        }
        for (auto it = ts.rbegin(); it != ts.rend(); ++it) {
            const float t = static_cast<float>(*it);
            timesteps_.push_back(t);
            sigma_f_.push_back(static_cast<float>(interp_train_sigma(t)));
        }
        sigma_f_.push_back(0.0f);
        sigmas_.assign(sigma_f_.begin(), sigma_f_.end());
    }

    // max(sigmas), and for leading spacing sqrt(max^2 + 1) in float32, as diffusers computes it.
    double init_noise_sigma() const override {
        const float m = *std::max_element(sigma_f_.begin(), sigma_f_.end());
        return leading_ ? f64(std::sqrt(m * m + 1.0f)) : f64(m);
    }

    at::Tensor scale_model_input(const at::Tensor& sample, int step_index) const override {
        Scheduler::scale_model_input(sample, step_index); // range check
        const float sigma = sigma_f_[step_index];
        return sample / f64(std::sqrt(sigma * sigma + 1.0f));
    }

    bool stochastic() const override { return ancestral_; }

    at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const override {
        return x0 + noise * f64(sigma_f_.front());
    }

  protected:
    void drop_first(int n) override { sigma_f_.erase(sigma_f_.begin(), sigma_f_.begin() + n); }

    StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                       const at::Tensor& noise) override {
        const at::Tensor x = sample.to(at::kFloat); // diffusers' "upcast", a downcast for float64 samples
        const float sigma = sigma_f_[step_index];
        const float sigma_next = sigma_f_[step_index + 1];
        const at::Tensor x0 = euler_x0(prediction_, model_output, x, sigma);
        const at::Tensor derivative = (x - x0) / f64(sigma);
        if (!ancestral_) {
            // s_churn = 0, so sigma_hat == sigma and no noise is added.
            const at::Tensor prev = x + derivative * f64(sigma_next - sigma);
            return {prev.to(model_output.scalar_type()), x0};
        }
        const float to2 = sigma_next * sigma_next;
        const float from2 = sigma * sigma;
        const float sigma_up = std::sqrt(to2 * (from2 - to2) / from2);
        const float sigma_down = std::sqrt(to2 - sigma_up * sigma_up);
        at::Tensor prev = x + derivative * f64(sigma_down - sigma);
        prev = prev + noise * f64(sigma_up);
        return {prev.to(model_output.scalar_type()), x0};
    }

  private:
    const bool ancestral_, leading_;
    std::vector<float> sigma_f_;
};

// DPM-Solver++ (data prediction), solver_order 2, midpoint, Karras sigmas, final sigma 0.
class DPMPP2MKarrasScheduler final : public Scheduler {
  public:
    DPMPP2MKarrasScheduler(Prediction prediction, int steps)
        : Scheduler(SchedulerKind::DPMPP2MKarras, prediction, steps) {
        const auto& train = train_sigmas();
        std::vector<float> log_sigmas;
        for (const float s : train) log_sigmas.push_back(std::log(s)); // numpy float32 log
        const double sigma_min = train.front();
        const double sigma_max = train.back();
        constexpr double rho = 7.0;
        const double min_inv_rho = std::pow(sigma_min, 1 / rho);
        const double max_inv_rho = std::pow(sigma_max, 1 / rho);
        for (const double r : numpy_linspace(0.0, 1.0, steps)) {
            const double sigma = std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho);
            timesteps_.push_back(std::nearbyint(sigma_to_t(sigma, log_sigmas))); // numpy rounds half to even
            sigma_f_.push_back(static_cast<float>(sigma));
        }
        sigma_f_.push_back(0.0f);
        sigmas_.assign(sigma_f_.begin(), sigma_f_.end());
    }

    at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise) const override {
        const Coeffs c = coeffs(sigma_f_.front());
        return x0 * f64(c.alpha) + noise * f64(c.sigma);
    }

  protected:
    void drop_first(int n) override { sigma_f_.erase(sigma_f_.begin(), sigma_f_.begin() + n); }

    StepResult do_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                       const at::Tensor& /*noise*/) override {
        const Coeffs s0 = coeffs(sigma_f_[step_index]);
        const at::Tensor x0 = prediction_ == Prediction::Epsilon
                                  ? (sample - model_output * f64(s0.sigma)) / f64(s0.alpha)
                                  : sample * f64(s0.alpha) - model_output * f64(s0.sigma);
        previous_x0_ = std::move(last_x0_);
        last_x0_ = x0;

        const at::Tensor x = sample.to(at::kFloat); // diffusers' "upcast", a downcast for float64 samples
        const Coeffs t = coeffs(sigma_f_[step_index + 1]);
        const float h = t.lambda - s0.lambda;
        const float c = t.alpha * (std::exp(-h) - 1.0f);
        // First order on the first step (no history) and on the last one (final sigma 0 forces it).
        const bool first_order = lower_order_nums_ < 1 || step_index == num_steps() - 1;
        at::Tensor prev;
        if (first_order) {
            prev = x * f64(t.sigma / s0.sigma) - x0 * f64(c);
        } else {
            const Coeffs s1 = coeffs(sigma_f_[step_index - 1]);
            const float r0 = (s0.lambda - s1.lambda) / h;
            const at::Tensor d1 = (x0 - previous_x0_) * f64(1.0f / r0);
            prev = x * f64(t.sigma / s0.sigma) - x0 * f64(c) - d1 * f64(0.5f * c);
        }
        lower_order_nums_ = std::min(lower_order_nums_ + 1, 2);
        return {prev.to(x0.scalar_type()), x0};
    }

    void clear_history() override {
        lower_order_nums_ = 0;
        last_x0_ = at::Tensor();
        previous_x0_ = at::Tensor();
    }

  private:
    struct Coeffs {
        float alpha, sigma, lambda;
    };

    // VP view of a sigma: alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t, lambda = log(a / s).
    // At the final sigma 0 lambda is +inf and the first-order update returns x0 exactly, as in diffusers.
    static Coeffs coeffs(float sigma) {
        const float alpha = 1.0f / std::sqrt(sigma * sigma + 1.0f);
        const float sigma_t = sigma * alpha;
        return {alpha, sigma_t, std::log(alpha) - std::log(sigma_t)};
    }

    // diffusers' _sigma_to_t: linear interpolation in log sigma between the two bracketing training
    // timesteps, with the float32 log table and numpy 2's float64 promotion of the float64 query.
    static double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
        const double log_sigma = std::log(std::max(sigma, 1e-10));
        const int n = static_cast<int>(log_sigmas.size());
        // argmax of the running count of log_sigmas[i] <= log_sigma: its first maximum.
        int count = 0;
        int best = 0;
        int low_idx = 0;
        for (int i = 0; i < n; ++i) {
            count += (log_sigma - f64(log_sigmas[i]) >= 0) ? 1 : 0;
            if (count > best) {
                best = count;
                low_idx = i;
            }
        }
        low_idx = std::min(low_idx, n - 2);
        const int high_idx = low_idx + 1;
        const float low = log_sigmas[low_idx];
        const float high = log_sigmas[high_idx];
        double w = (f64(low) - log_sigma) / f64(low - high);
        w = std::clamp(w, 0.0, 1.0);
        return (1 - w) * low_idx + w * high_idx;
    }

    std::vector<float> sigma_f_;
    int lower_order_nums_ = 0;
    at::Tensor last_x0_;
    at::Tensor previous_x0_;
};

} // namespace

std::unique_ptr<Scheduler> make_euler(Prediction prediction, int steps, bool ancestral,
                                      TimestepSpacing spacing) {
    return std::make_unique<EulerScheduler>(prediction, steps, ancestral, spacing);
}

std::unique_ptr<Scheduler> make_dpmpp_2m_karras(Prediction prediction, int steps) {
    return std::make_unique<DPMPP2MKarrasScheduler>(prediction, steps);
}

} // namespace attnscope::sched_detail
