#include "device_options.h"

#include "options.h"
#include "util/tf32.h"

namespace attnscope::cli {

void add_device_options(CommandLine& args, const std::string& fallback) {
    args.option("device", fallback == "auto" ? "auto|cpu|cuda|cuda:N" : "cpu|cuda|cuda:N",
                fallback == "auto" ? "where to compute (auto: the GPU where LibTorch sees one)"
                                   : "where to compute",
                fallback);
    args.flag("tf32", kTf32Help);
}

at::Device chosen_device(const CommandLine& args) {
    const auto device = parse_device(args.value("device"));
    if (args.given("tf32")) set_tf32(true);
    return device;
}

} // namespace attnscope::cli
