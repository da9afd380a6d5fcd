// libFuzzer target for the safetensors header parser: any byte string must either parse into entries that
// lie inside the file and do not overlap, or be rejected with FormatError. Nothing else (no crash, no
// other exception, no sanitizer report). Built and run by tools/fuzz.sh.
#include "io/safetensors_format.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope;
    try {
        const auto h = parse_safetensors(data, size, size, "fuzz-input");
        uint64_t prev_end = 0;
        for (const auto& t : h.tensors) {
            const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype);
            if (h.data_start + t.end > size || t.end - t.begin != bytes) __builtin_trap();
            if (t.begin < prev_end && t.end > t.begin) __builtin_trap();
            prev_end = t.end > prev_end ? t.end : prev_end;
        }
        // What we write, we must read back identically.
        const auto again = encode_safetensors_header(h.tensors, h.metadata);
        const auto h2 = parse_safetensors(reinterpret_cast<const unsigned char*>(again.data()), again.size(),
                                          again.size() + (size - h.data_start), "fuzz-reencoded");
        if (h2.tensors.size() != h.tensors.size() || h2.metadata != h.metadata) __builtin_trap();
    } catch (const FormatError&) {
    }
    return 0;
}
