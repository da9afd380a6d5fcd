// libFuzzer target for the visualizer's script parser (app/gui/script_parse.cpp): any bytes as a script
// either parse into lines whose arguments all read back as their kinds, or are rejected with
// std::runtime_error naming the line. Nothing else escapes. Built and run by tools/fuzz.sh.
#include "gui/script_parse.h"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace attnscope::gui;
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        for (const auto& line : parse_script(in, "fuzz")) {
            if (line.words.empty()) __builtin_trap();
            // What run() reads of a line: typed readers throw std::invalid_argument for the wrong kind only.
            for (size_t i = 1; i < line.words.size(); ++i) {
                for (auto read : {+[](const ScriptLine&l, size_t k) { (void)int_arg(l, k); },
                                  +[](const ScriptLine&l, size_t k) { (void)seed_arg(l, k); },
                                  +[](const ScriptLine&l, size_t k) { (void)float_arg(l, k); },
                                  +[](const ScriptLine&l, size_t k) { (void)size_arg(l, k); }}) {
                    try {
                        read(line, i);
                    } catch (const std::invalid_argument&) {
                    }
                }
            }
        }
    } catch (const std::runtime_error&) {
    }
    return 0;
}
