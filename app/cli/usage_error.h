#pragma once
#include <stdexcept>

namespace attnscope::cli {

// The command was asked for wrongly (an unknown option, a bad value): main reports it with exit code 2,
// where bad input (a missing file, a broken checkpoint) gets 1.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace attnscope::cli
