// libFuzzer target for how LoRA files name layers (core/model/lora_names.cpp): the input's lines are keys of
// a LoRA file (a safetensors header's names, which tests/fuzz/fuzz_safetensors reaches), looked up against a
// few of an SD U-Net's and text encoder's layers. A key either names no LoRA part, or names a layer that the
// lookup finds only as the model spells it. Built and run by tools/fuzz.sh.
#include "model/lora_names.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    static const LayerNames unet(
        {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
         "down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.attentions.0.proj_in.bias",
         "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.weight",
         "up_blocks.1.resnets.2.conv1.weight", "conv_in.weight", "time_embedding.linear_1.weight"});
    std::string_view input(reinterpret_cast<const char*>(data), size);
    while (!input.empty()) {
        const auto end = std::min(input.find('\n'), input.size());
        const std::string key(input.substr(0, end));
        input = end < input.size() ? input.substr(end + 1) : std::string_view();
        const auto name = parse_lora_key(key);
        if (!name) continue;
        if (name->layer.empty() || key.find(name->layer) == std::string::npos) __builtin_trap();
        if (const auto layer = unet.find(*name)) {
            std::string flat = *layer;
            for (auto& c : flat)
                if (c == '.') c = '_';
            if (name->flat ? flat != name->layer : *layer != name->layer) __builtin_trap();
        }
    }
    return 0;
}
