#pragma once
// What the commands that run a generation (generate, compare, edit) share: the model and how it is loaded,
// the prompt and the sampling settings, and how they write their text files.
#include "args.h"
#include "session/pipeline.h"
#include "session/session.h"
#include "util/progress.h"

#include <memory>
#include <set>
#include <string>

namespace attnscope::cli {

// --model --preset --prompt --negative --steps --cfg --seed --scheduler --size --device --tokenizer --vae
// --taesd --prediction --config --heads --out
std::set<std::string> generation_options(std::set<std::string> more);

// Throws UsageError unless --prompt and --out are there and not both --model and --preset.
void require_generation_args(const Args& args, const std::string& command);
// Throws UsageError for a bad --seed or --cfg, std::invalid_argument for an unknown scheduler.
GenerationSettings generation_settings(const Args& args);
at::ScalarType default_dtype(at::Device device); // f16 on a GPU, f32 on the CPU
PipelineOptions pipeline_options(const Args& args, at::Device device, at::ScalarType dtype);
// --preset's random weights, else --model (the embedded model when neither is given).
std::shared_ptr<const Pipeline> load_generation_pipeline(const Args& args, const PipelineOptions& options,
                                                         uint64_t seed, const ProgressFn& progress);

// A warning on stderr for each prompt that lost tokens past CLIP's 77.
void warn_if_truncated(const Session& session, const std::string& command);
// Through a temporary file and a rename, like every output.
void write_text(const std::string& path, const std::string& text);

} // namespace attnscope::cli
