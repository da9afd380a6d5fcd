#include "options.h"

#include "usage_error.h"
#include "util/dtype_names.h"

#include <ATen/detail/CUDAHooksInterface.h>

namespace attnscope::cli {

at::ScalarType parse_dtype(const std::string& s) {
    try {
        return parse_dtype_name(s);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

std::string dtype_label(at::ScalarType t) {
    return dtype_short_name(t);
}

at::Device parse_device(const std::string& s) {
    if (s == "cpu") return at::kCPU;
    if (s.rfind("cuda", 0) == 0) {
        if (!at::hasCUDA())
            throw UsageError("device '" + s +
                             "' asked for, but CUDA is not available (a CPU-only LibTorch, or no "
                             "GPU visible); use --device cpu");
        std::size_t used = 0;
        int index = 0;
        try {
            index = s == "cuda" ? 0 : std::stoi(s.substr(5), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (s != "cuda" && (s.size() < 6 || s[4] != ':' || used != s.size() - 5))
            throw UsageError("bad device '" + s + "' (use cpu, cuda or cuda:N)");
        const int count = at::detail::getCUDAHooks().getNumGPUs();
        if (index < 0 || index >= count)
            throw UsageError("device '" + s + "' does not exist: " + std::to_string(count) +
                             " GPU(s) visible");
        return {at::kCUDA, static_cast<c10::DeviceIndex>(index)};
    }
    throw UsageError("unknown device '" + s + "' (use cpu, cuda or cuda:N)");
}

std::pair<int, int> parse_size(const std::string& s) {
    const auto x = s.find('x');
    try {
        if (x != std::string::npos) {
            std::size_t u1 = 0, u2 = 0;
            const int w = std::stoi(s.substr(0, x), &u1), h = std::stoi(s.substr(x + 1), &u2);
            if (u1 == x && u2 == s.size() - x - 1 && w >= 8 && h >= 8 && w % 8 == 0 && h % 8 == 0 &&
                w <= 8192 && h <= 8192)
                return {w, h};
        }
    } catch (const std::exception&) {
    }
    throw UsageError("bad size '" + s +
                     "': expected WxH in pixels, multiples of 8 between 8 and 8192 (e.g. 512x512)");
}

} // namespace attnscope::cli
