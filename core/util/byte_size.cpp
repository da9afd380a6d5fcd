#include "byte_size.h"

#include <cstdio>
#include <iterator>

namespace attnscope {

std::string byte_size_string(double bytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int unit = 0;
    while (bytes >= 1024 && unit + 1 < static_cast<int>(std::size(units))) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 || bytes >= 100 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return text;
}

} // namespace attnscope
