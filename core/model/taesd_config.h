#pragma once
// The check of a TAESD folder's config.json (diffusers' AutoencoderTiny). No LibTorch, so a user's config
// reaches it under the fuzzer (tests/fuzz/fuzz_taesd_config.cpp) just as it does in TaesdDecoder::load.
#include <string>

namespace attnscope {

// TAESD's structure comes from its weights; the config only says what is done around them. Options other
// than the ones TAESD for SD uses (another activation, up-sampling, scaling or shift) are refused by name:
// std::runtime_error "<label>: ...".
void check_taesd_config(const std::string& json_text, const std::string& label);

} // namespace attnscope
