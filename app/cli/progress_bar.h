#pragma once
#include <chrono>
#include <string>

namespace attnscope::cli {

// A one-line progress bar on stderr; on a non-terminal it prints a line per quarter instead.
class ProgressBar {
  public:
    ProgressBar();
    ~ProgressBar(); // ends the line
    void update(double fraction, const std::string& what);

  private:
    bool tty_;
    int last_quarter_ = -1;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace attnscope::cli
