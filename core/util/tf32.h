#pragma once
// Whether fp32 work on CUDA may run in TF32 (10-bit mantissa products). LibTorch lets cuDNN do so by default,
// which moved our fp32 U-Net 1.5e-4 (relative L2) away from float64 on an H100, where the CPU stays below
// 1e-6: a program that promises fp32 turns it off at start and lets the user opt in.
namespace attnscope {

void set_tf32(bool allowed); // cuDNN convolutions and cuBLAS matmuls alike
bool tf32_allowed();

} // namespace attnscope
