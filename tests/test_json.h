#pragma once
// Reading the JSON files the command line writes.
#include "test_util.h"

#include <nlohmann/json.hpp>
#include <string>

namespace attnscope::test {

inline nlohmann::json read_json(const std::string& path) {
    return nlohmann::json::parse(read_bytes(path));
}

} // namespace attnscope::test
