#pragma once
#include <functional>
#include <string>

namespace attnscope {

// Reports long work: fraction in [0, 1] and what is being done. Called from the working thread.
using ProgressFn = std::function<void(double fraction, const std::string& what)>;

} // namespace attnscope
