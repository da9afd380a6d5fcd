#include "device_options.h"

#include "options.h"
#include "util/tf32.h"

namespace attnscope::cli {

void add_device_options(CommandLine& args) {
    args.option("device", "cpu|cuda|cuda:N", "where to compute", "cpu");
    args.flag("tf32", kTf32Help);
}

at::Device chosen_device(const CommandLine& args) {
    const auto device = parse_device(args.value("device"));
    if (args.given("tf32")) set_tf32(true);
    return device;
}

} // namespace attnscope::cli
