#include "progress_bar.h"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace attnscope::cli {

ProgressBar::ProgressBar() : tty_(::isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() {
    if (tty_ && drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(double fraction, const std::string& what) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (tty_) {
        constexpr int width = 30;
        const int filled = static_cast<int>(fraction * width + 0.5);
        std::fprintf(stderr, "\r[%s%s] %3d%% %s (%.1f s)\033[K", std::string(filled, '#').c_str(),
                     std::string(width - filled, ' ').c_str(), static_cast<int>(fraction * 100 + 0.5),
                     what.c_str(), secs);
        drawn_ = true;
    } else if (const int quarter = static_cast<int>(fraction * 4); quarter != last_quarter_) {
        last_quarter_ = quarter;
        std::fprintf(stderr, "%3d%% %s (%.1f s)\n", static_cast<int>(fraction * 100 + 0.5), what.c_str(),
                     secs);
    }
    std::fflush(stderr);
}

} // namespace attnscope::cli
