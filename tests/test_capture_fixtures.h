#pragma once
// One capture for every command-line test of a process that explores one: `attnscope generate --capture` with
// the small fixture model (tests/data/pipeline_v1_small), 2 steps at 64x48 with a negative prompt, so both
// guidance halves are there. Made on first use (a few seconds); its folder lives until the process ends.
#include "capture/capture_file.h"
#include "test_util.h"

#include <memory>
#include <stdexcept>

namespace attnscope::test {

struct CliCapture {
    static constexpr int kWidth = 64, kHeight = 48, kSteps = 2;
    TempDir dir;
    std::string path = dir.file("capture.safetensors");
    std::string summary = dir.file("run/summary.json"); // generate's summary of the run
    LoadedCapture loaded;
};

// Throws std::runtime_error with generate's output when it fails.
inline const CliCapture& cli_capture() {
    static const std::unique_ptr<const CliCapture> capture = [] {
        auto c = std::make_unique<CliCapture>();
        const auto r =
            run_cli("generate --model " + std::string(ATTNSCOPE_TEST_DATA) +
                    "/pipeline_v1_small --prompt 'a red circle left of a blue square' --negative blurry "
                    "--steps 2 --seed 5 --size 64x48 --capture " +
                    c->path + " --out " + c->dir.file("run"));
        if (r.rc != 0) throw std::runtime_error("attnscope generate --capture failed:\n" + r.output);
        c->loaded = load_capture(c->path);
        return c;
    }();
    return *capture;
}

// A suite of command-line runs on the shared capture, with a folder of its own for their outputs.
template <typename Derived> class CliCaptureSuite : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<TempDir>();
        cli_capture();
    }
    static void TearDownTestSuite() { dir_.reset(); }
    static std::string capture() { return cli_capture().path; }

    static inline std::unique_ptr<TempDir> dir_;
};

} // namespace attnscope::test
