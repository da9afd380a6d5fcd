#pragma once
// Our attention kernels behind a plain C++ interface: raw device pointers, sizes and strides, no LibTorch
// and no CUDA headers, so core can call them whether or not its LibTorch knows CUDA.
//
// Layout: Q, K, V and O are (batch*heads, rows, head_dim) with the head dimension contiguous; strides are
// in elements. Row b*heads+h is batch item b, head h (diffusers' batch-major order). LSE is fp32,
// (batch*heads, seq_q), and holds lse_i = ln sum_j exp(scale * q_i . k_j): with it, any entry of P is
// p_ij = exp(scale * q_i . k_j - lse_i), which is what the probe recomputes.
// Every launcher queues work on `stream` (a cudaStream_t; nullptr is the legacy default stream), returns
// without synchronizing, and throws std::invalid_argument for unsupported arguments and
// std::runtime_error naming the kernel for CUDA errors.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attnscope::kernels {

enum class ElementType { F16, BF16 };

const char* to_string(ElementType t);

// Strides of one (batch*heads, rows, head_dim) tensor, in elements.
struct RowStrides {
    int64_t batch_head = 0;
    int64_t row = 0;
};

struct AttentionArgs {
    ElementType dtype = ElementType::F16;
    const void* q = nullptr;
    const void* k = nullptr;
    const void* v = nullptr;
    void* o = nullptr;
    float* lse = nullptr; // (batch_heads, seq_q), contiguous
    RowStrides q_strides, k_strides, v_strides, o_strides;
    int64_t batch_heads = 0, seq_q = 0, seq_k = 0;
    int head_dim = 0;
    float scale = 1.0f;
    void* stream = nullptr;
};

// Head dims the fused kernels are built for (SD v1: 40/80/160, SD v2: 64).
const std::vector<int>& attention_head_dims();

// Empty when the flash/int8 kernels can run these arguments, otherwise why not (pointers unchecked).
std::string attention_unsupported_reason(const AttentionArgs& a);

// softmax(scale * Q K^T) V with fp32 accumulation and the row LSE; tensor cores (mma.sync m16n8k16).
void flash_attention_forward(const AttentionArgs& a);

// Sage-style quantized attention: Q and mean-smoothed K quantized to int8 per block of 64 rows, QK^T on
// int8 tensor cores, fp16/bf16 P.V. The LSE is that of the quantized scores (smoothing corrected), so the
// probe reproduces the P this kernel used up to the quantization of Q and K.
// `workspace` must hold int8_attention_workspace_bytes(a) bytes of device memory, 16-byte aligned.
std::size_t int8_attention_workspace_bytes(const AttentionArgs& a);
void int8_attention_forward(const AttentionArgs& a, void* workspace, std::size_t workspace_bytes);

// ---- Probe: recompute a slice of P exactly from Q, K and the stored LSE ----

// A key column is one key's map over all queries (cross-attention token map: fixed j, every i); a query
// row is one query's map over all keys (self-attention map of one pixel: fixed i, every j).
enum class ProbeAxis { KeyColumn, QueryRow };
enum class HeadReduction { Single, Mean, Max };
enum class SurfaceFormat { None, R32F, RGBA8 };

// A 2-D CUDA surface (cudaSurfaceObject_t) to write the map into, e.g. a GL texture mapped by CUDA-GL
// interop. Element n of the map goes to pixel (n % width, n / width): row 0 is the first row of the site's
// feature map. RGBA8 stores gray = clamp(p * gain, 0, 1) in R, G and B and 255 in A.
struct ProbeSurface {
    unsigned long long handle = 0;
    SurfaceFormat format = SurfaceFormat::None;
    int width = 0, height = 0;
    float gain = 1.0f;
};

struct ProbeArgs {
    ElementType dtype = ElementType::F16;
    const void* q = nullptr;
    const void* k = nullptr;
    const float* lse = nullptr; // (batch_heads, seq_q), as the forward kernel wrote it
    RowStrides q_strides, k_strides;
    int64_t lse_batch_head_stride = 0;
    int heads = 0; // per batch item: row b*heads+h
    int64_t seq_q = 0, seq_k = 0;
    int head_dim = 0;
    float scale = 1.0f;
    int64_t batch_index = 0;
    int head = 0; // used when reduction == Single
    HeadReduction reduction = HeadReduction::Single;
    ProbeAxis axis = ProbeAxis::KeyColumn;
    int64_t index = 0;      // the key j (KeyColumn) or the query i (QueryRow)
    float* out = nullptr;   // device, seq_q (KeyColumn) or seq_k (QueryRow) floats; may be null
    ProbeSurface surface{}; // optional; width*height must equal the map's length
    void* stream = nullptr;
};

int64_t probe_map_length(const ProbeArgs& a); // seq_q for a key column, seq_k for a query row
void attention_probe(const ProbeArgs& a);

} // namespace attnscope::kernels
