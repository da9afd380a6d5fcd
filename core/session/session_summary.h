#pragma once
// A session as JSON: settings, model, tokens, per-step timings and backends. What `attnscope generate` writes
// next to the image, and what the GUI exports.
#include "session.h"

#include <nlohmann/json.hpp>

namespace attnscope {

nlohmann::json session_summary(Session& session);

} // namespace attnscope
