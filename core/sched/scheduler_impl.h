#pragma once
// Pieces shared by the scheduler families; not part of the public API.
#include "scheduler.h"

#include <memory>
#include <vector>

namespace attnscope::sched_detail {

std::unique_ptr<Scheduler> make_ddim(Prediction prediction, int steps, TimestepSpacing spacing);
std::unique_ptr<Scheduler> make_pndm(Prediction prediction, int steps, TimestepSpacing spacing);
std::unique_ptr<Scheduler> make_euler(Prediction prediction, int steps, bool ancestral,
                                      TimestepSpacing spacing);
std::unique_ptr<Scheduler> make_dpmpp_2m_karras(Prediction prediction, int steps);

// sqrt((1 - alphas_cumprod) / alphas_cumprod) per training timestep, in float32 as diffusers computes it.
const std::vector<float>& train_sigmas();

// The inference timesteps, ascending, of "trailing" spacing (1000 down in strides of 1000 / steps, rounded
// half to even as numpy rounds, minus 1: 3 steps are 332, 666, 999), else of "leading" with SD's steps_offset
// 1 (multiples of 1000 // steps, plus 1).
std::vector<int> spaced_timesteps(TimestepSpacing spacing, int steps);

// numpy.linspace(start, stop, num) in float64: i * step + start, the last value forced to `stop`.
std::vector<double> numpy_linspace(double start, double stop, int num);

// The tensor-times-scalar products below take the scalar as double; when it holds a float32 value, as all the
// per-step coefficients do, the product equals diffusers' product with a float32 0-dim tensor in every dtype.
inline double f64(float x) {
    return static_cast<double>(x);
}

} // namespace attnscope::sched_detail
