#pragma once
#include <string>

namespace attnscope {

// "256 TiB", "19.3 MiB", "512 bytes": a size as messages and panels give it, three significant figures.
std::string byte_size_string(double bytes);

} // namespace attnscope
