#pragma once
// The Hopper (sm_90a) path of flash_attention_forward: wgmma tensor-core instructions, which mma.sync
// kernels cannot reach on H100/H200. flash_attention_forward tries it first and falls back to the portable
// mma.sync kernel where it declines.
//
// ATTNSCOPE_FLASH_SM90 picks the policy: "auto" (or unset) uses it where it is the faster kernel (512 keys
// or more: bench_attention's last two columns), "force" (or "on", "1") for every shape it covers, "off"
// (or "0") never.

#include "attention_kernels.h"

#include <string>

namespace attnscope::kernels {

// Empty when this process can run the wgmma kernels on the current device (an sm_90 GPU and a binary with
// sm_90a code), otherwise why not.
std::string flash_sm90_unavailable_reason();

// Launches the wgmma kernel when the policy, the device and the arguments (head dims 40, 64, 80) allow it
// and returns true; returns false without launching anything otherwise. Arguments already validated.
bool flash_attention_forward_sm90(const AttentionArgs& a);

} // namespace attnscope::kernels
