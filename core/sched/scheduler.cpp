#include "scheduler.h"

#include "scheduler_impl.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace attnscope {
namespace {

struct KindName {
    SchedulerKind kind;
    const char* name;
};

constexpr KindName kKindNames[] = {
    {SchedulerKind::DDIM, "ddim"},
    {SchedulerKind::Euler, "euler"},
    {SchedulerKind::EulerAncestral, "euler_a"},
    {SchedulerKind::DPMPP2MKarras, "dpmpp_2m_karras"},
    {SchedulerKind::PNDM, "pndm"},
};

std::string known_names() {
    std::string names;
    for (const auto& k : kKindNames) names += (names.empty() ? "" : ", ") + std::string(k.name);
    return names;
}

std::string shape_of(const at::Tensor& t) {
    std::string s = "[";
    for (std::size_t i = 0; i < t.sizes().size(); ++i) s += (i ? ", " : "") + std::to_string(t.sizes()[i]);
    return s + "]";
}

} // namespace

SchedulerKind parse_scheduler(const std::string& name) {
    for (const auto& k : kKindNames) {
        if (name == k.name) return k.kind;
    }
    throw std::invalid_argument("unknown scheduler '" + name + "' (known: " + known_names() + ")");
}

std::string to_string(SchedulerKind kind) {
    if (kind == SchedulerKind::Reading) return "reading";
    for (const auto& k : kKindNames) {
        if (kind == k.kind) return k.name;
    }
    throw std::invalid_argument("invalid SchedulerKind value " + std::to_string(static_cast<int>(kind)));
}

const std::vector<SchedulerKind>& all_scheduler_kinds() {
    static const std::vector<SchedulerKind> kinds = [] {
        std::vector<SchedulerKind> v;
        for (const auto& k : kKindNames) v.push_back(k.kind);
        return v;
    }();
    return kinds;
}

const std::vector<float>& sd_alphas_cumprod() {
    // diffusers: torch.linspace(sqrt(beta_start), sqrt(beta_end), 1000, dtype=float32) ** 2, then
    // cumprod(1 - betas). Reproduced by hand rather than with this LibTorch's kernels, whose float32 results
    // vary with the version: PyTorch 2.x evaluates linspace from both ends (start + step * i below the
    // middle, end - step * (n - 1 - i) above) with the multiply-add fused, and cumprod accumulates in double.
    // That is bit-exact against the PyTorch 2.11 reference (LibTorch 1.13's vectorized linspace differs by an
    // ulp).
    static const std::vector<float> table = [] {
        const float start = static_cast<float>(std::sqrt(kBetaStart));
        const float end = static_cast<float>(std::sqrt(kBetaEnd));
        const float step = (end - start) / static_cast<float>(kTrainTimesteps - 1);
        std::vector<float> ac(kTrainTimesteps);
        double product = 1.0;
        for (int i = 0; i < kTrainTimesteps; ++i) {
            const float root = i < kTrainTimesteps / 2
                                   ? std::fma(step, static_cast<float>(i), start)
                                   : std::fma(-step, static_cast<float>(kTrainTimesteps - 1 - i), end);
            const float beta = root * root;
            product *= static_cast<double>(1.0f - beta);
            ac[i] = static_cast<float>(product);
        }
        return ac;
    }();
    return table;
}

namespace sched_detail {

const std::vector<float>& train_sigmas() {
    static const std::vector<float> table = [] {
        std::vector<float> s;
        for (const float a : sd_alphas_cumprod()) s.push_back(std::sqrt((1.0f - a) / a));
        return s;
    }();
    return table;
}

std::vector<int> spaced_timesteps(TimestepSpacing spacing, int steps) {
    std::vector<int> ts;
    const double stride = static_cast<double>(kTrainTimesteps) / steps;
    for (int i = 0; i < steps; ++i)
        ts.push_back(spacing == TimestepSpacing::Trailing
                         ? static_cast<int>(std::nearbyint(kTrainTimesteps - (steps - 1 - i) * stride)) - 1
                         : i * (kTrainTimesteps / steps) + 1);
    return ts;
}

std::vector<double> numpy_linspace(double start, double stop, int num) {
    std::vector<double> v(static_cast<std::size_t>(num), start);
    if (num > 1) {
        const double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; ++i) v[i] = i * step + start;
        v.back() = stop;
    }
    return v;
}

} // namespace sched_detail

Scheduler::Scheduler(SchedulerKind kind, Prediction prediction, int requested_steps)
    : kind_(kind), prediction_(prediction) {
    if (requested_steps < 1 || requested_steps > kTrainTimesteps) {
        throw std::invalid_argument(to_string(kind) + " scheduler: steps must be in 1.." +
                                    std::to_string(kTrainTimesteps) + ", got " +
                                    std::to_string(requested_steps));
    }
}

at::Tensor Scheduler::scale_model_input(const at::Tensor& sample, int step_index) const {
    if (step_index < 0 || step_index >= num_steps()) {
        throw std::out_of_range(to_string(kind_) + " scheduler: step " + std::to_string(step_index) +
                                " outside 0.." + std::to_string(num_steps() - 1));
    }
    return sample;
}

void Scheduler::check_step(const at::Tensor& model_output, int step_index, const at::Tensor& sample) const {
    const std::string who = to_string(kind_) + " scheduler: ";
    if (step_index < 0 || step_index >= num_steps()) {
        throw std::out_of_range(who + "step " + std::to_string(step_index) + " outside 0.." +
                                std::to_string(num_steps() - 1));
    }
    if (step_index != next_step_) {
        throw std::logic_error(who + "step " + std::to_string(step_index) +
                               " called out of order, expected " + std::to_string(next_step_) +
                               " (steps run 0..N-1; reset() starts over)");
    }
    if (!model_output.defined() || !sample.defined()) throw std::invalid_argument(who + "undefined tensor");
    if (!at::isFloatingType(model_output.scalar_type()) || !at::isFloatingType(sample.scalar_type())) {
        throw std::invalid_argument(who + "model output and sample must be floating point");
    }
    if (!model_output.sizes().equals(sample.sizes())) {
        throw std::invalid_argument(who + "model output " + shape_of(model_output) + " and sample " +
                                    shape_of(sample) + " differ in shape");
    }
}

StepResult Scheduler::step(const at::Tensor& model_output, int step_index, const at::Tensor& sample,
                           at::Generator* gen) {
    check_step(model_output, step_index, sample);
    at::Tensor noise;
    if (stochastic()) {
        const auto options = model_output.options().device(sample.device());
        if (gen == nullptr) {
            noise = at::randn(sample.sizes(), options);
        } else if (gen->device().is_cpu() && !sample.device().is_cpu()) {
            // diffusers' randn_tensor does the same with a CPU generator: draw on the CPU, then move.
            noise = at::randn(sample.sizes(), *gen, options.device(at::kCPU)).to(sample.device());
        } else {
            noise = at::randn(sample.sizes(), *gen, options);
        }
    }
    StepResult result = do_step(model_output, step_index, sample, noise);
    ++next_step_;
    return result;
}

StepResult Scheduler::step_with_noise(const at::Tensor& model_output, int step_index,
                                      const at::Tensor& sample, const at::Tensor& noise) {
    if (!stochastic()) {
        throw std::logic_error(to_string(kind_) +
                               " scheduler is deterministic: step_with_noise() is only for "
                               "ancestral schedulers, use step()");
    }
    check_step(model_output, step_index, sample);
    if (!noise.defined() || !noise.sizes().equals(sample.sizes())) {
        throw std::invalid_argument(to_string(kind_) + " scheduler: noise " +
                                    (noise.defined() ? shape_of(noise) : std::string("(undefined)")) +
                                    " must have the sample's shape " + shape_of(sample));
    }
    StepResult result =
        do_step(model_output, step_index, sample, noise.to(sample.device(), model_output.scalar_type()));
    ++next_step_;
    return result;
}

void Scheduler::begin_at(int first) {
    if (next_step_ != 0) throw std::logic_error(to_string(kind_) + " scheduler: begin_at() after a step");
    if (first < 0 || first >= num_steps())
        throw std::invalid_argument(to_string(kind_) + " scheduler: cannot begin at step " +
                                    std::to_string(first) + " of " + std::to_string(num_steps()));
    timesteps_.erase(timesteps_.begin(), timesteps_.begin() + first);
    if (!sigmas_.empty()) sigmas_.erase(sigmas_.begin(), sigmas_.begin() + first);
    drop_first(first);
}

void Scheduler::reset() {
    next_step_ = 0;
    clear_history();
}

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, Prediction prediction, int steps,
                                          TimestepSpacing spacing) {

    switch (kind) {
    case SchedulerKind::DDIM:
        return sched_detail::make_ddim(prediction, steps, spacing);
    case SchedulerKind::Euler:
        return sched_detail::make_euler(prediction, steps, /*ancestral=*/false, spacing);
    case SchedulerKind::EulerAncestral:
        return sched_detail::make_euler(prediction, steps, /*ancestral=*/true, spacing);
    case SchedulerKind::DPMPP2MKarras:
        return sched_detail::make_dpmpp_2m_karras(prediction, steps);
    case SchedulerKind::PNDM:
        return sched_detail::make_pndm(prediction, steps, spacing);
    case SchedulerKind::Reading:
        throw std::invalid_argument("a reading schedule comes from make_reading_scheduler, with its picture");
    }
    throw std::invalid_argument("invalid SchedulerKind value " + std::to_string(static_cast<int>(kind)));
}

} // namespace attnscope
