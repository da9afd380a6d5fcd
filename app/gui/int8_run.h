#pragma once
// The int8 tab's inspection (issue 8, the GUI side of `attnscope inspect-int8`): core's emulation of the
// int8 kernel's quantization (core/compare/quant_inspector.h) on one captured call's Q and K, turned into
// the plain values the UI draws.
#include "capture/capture_store.h"
#include "view_data.h"

namespace attnscope::gui {

inline constexpr int kInt8Bins = 100; // the score histograms' bins, as inspect-int8's default

// Throws std::runtime_error when the call is not in `capture` (never captured, or evicted), and what
// inspect_int8 throws.
Int8View inspect_captured(const CaptureStore& capture, const Int8Key& call);

} // namespace attnscope::gui
