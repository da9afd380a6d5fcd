#pragma once
// Turning the user's words for dtype, device and size into typed values, with errors that say what is
// accepted.
#include <ATen/ATen.h>
#include <string>
#include <utility>

namespace attnscope::cli {

at::ScalarType parse_dtype(const std::string& s);     // f64 | f32 | f16 | bf16
at::Device parse_device(const std::string& s);        // cpu | cuda | cuda:N (checked against this build)
std::pair<int, int> parse_size(const std::string& s); // "WxH" in pixels, multiples of 8
std::string dtype_label(at::ScalarType t);

} // namespace attnscope::cli
