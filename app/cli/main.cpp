// attnscope: the command-line entry point.
#include "commands.h"
#include "usage_error.h"
#include "util/cpu_threads.h"
#include "util/tf32.h"
#include "version.h"

#ifdef ATTNSCOPE_GUI
#include "../gui/gui.h"
#endif

#include <c10/util/Exception.h>
#include <iostream>
#include <string>
#include <vector>

namespace {

void usage(std::ostream& o) {
    o << "usage: attnscope <command> [options]\n\n"
         "commands:\n"
         "  generate      a prompt to an image, one denoising step at a time (--prompt \"...\" --out DIR)\n"
         "  image-maps    where each word of a prompt attends on an existing picture (--image FILE ...)\n"
         "  lora-sweep    one word's attention as a LoRA's scale goes from 0 to 1 (--sweep FILE --token "
         "WORD)\n"
         "  compare       one generation on two backends or precisions in lockstep (--a ... --b ...)\n"
         "  edit          attention surgery, re-denoised from a step (--edit SPEC, repeatable)\n"
         "  maps          attention maps from a capture, as PNG, .safetensors and JSON\n"
         "  inspect-int8  the int8 kernel's quantization of one captured call\n"
         "  walkthrough   one query's attention stage by stage, as worksheet figures and numbers\n"
         "  shapes        one forward pass; every attention site's Q/K/V/P shapes\n"
         "  info          this build's GPUs and attention backends; with --model or --preset, the model\n"
         "  unet          the U-Net on given tensors, to check our numbers against other implementations\n"
         "  text          the text encoder's output for a prompt or token ids\n"
         "  tokenize      CLIP tokens of a prompt\n"
         "  schedule      a scheduler's timesteps and sigmas\n"
         "  gui           the visualizer\n\n"
         "attnscope <command> --help (or -h) lists the command's options and their defaults.\n"
         "With no command, attnscope opens the visualizer when a display is there, else runs the headless\n"
         "job: 'shapes' for the SD v1.5 topology at 512x512.\n"
         "Without --model, generate uses the embedded tiny model (assets/tiny-sd).\n"
         "Environment: ATTNSCOPE_ATTENTION=<backend> sets the default attention backend;\n"
         "ATTNSCOPE_ASSETS=<dir> points at the bundled files for a program without ../share/attnscope.\n";
}

} // namespace

int main(int argc, char** argv) {
    attnscope::configure_cpu_threads();
    attnscope::set_tf32(false); // fp32 means IEEE fp32 on CUDA too; --tf32 opts in
    std::vector<std::string> args(argv + 1, argv + argc);
#ifdef ATTNSCOPE_GUI
    const bool gui_by_default = args.empty() && attnscope::gui::display_available();
#else
    const bool gui_by_default = false;
#endif
    const std::string command = gui_by_default ? "gui" : args.empty() ? "shapes" : args.front();
    if (!args.empty()) args.erase(args.begin());
    try {
        if (command == "shapes") return attnscope::cli::cmd_shapes(args);
        if (command == "info") return attnscope::cli::cmd_info(args);
        if (command == "unet") return attnscope::cli::cmd_unet(args);
        if (command == "schedule") return attnscope::cli::cmd_schedule(args);
        if (command == "tokenize") return attnscope::cli::cmd_tokenize(args);
        if (command == "text") return attnscope::cli::cmd_text(args);
        if (command == "generate") return attnscope::cli::cmd_generate(args);
        if (command == "image-maps") return attnscope::cli::cmd_image_maps(args);
        if (command == "lora-sweep") return attnscope::cli::cmd_lora_sweep(args);
        if (command == "compare") return attnscope::cli::cmd_compare(args);
        if (command == "edit") return attnscope::cli::cmd_edit(args);
        if (command == "maps") return attnscope::cli::cmd_maps(args);
        if (command == "inspect-int8") return attnscope::cli::cmd_inspect_int8(args);
        if (command == "walkthrough") return attnscope::cli::cmd_walkthrough(args);
        if (command == "gui") {
#ifdef ATTNSCOPE_GUI
            return attnscope::gui::gui_command(args);
#else
            std::cerr << "attnscope gui: this build has no visualizer (GLFW, OpenGL or Dear ImGui were not "
                         "found)\n";
            return 1;
#endif
        }
        if (command == "--version" || command == "version") {
            std::cout << attnscope::cli::version_text();
            return 0;
        }
        if (command == "help" || command == "--help" || command == "-h") {
            usage(std::cout);
            return 0;
        }
        std::cerr << "attnscope: unknown command '" << command << "'\n\n";
        usage(std::cerr);
        return 2;
    } catch (const attnscope::cli::UsageError& e) {
        std::cerr << "attnscope " << command << ": " << e.what() << "\n";
        return 2;
    } catch (const c10::Error& e) {
        // LibTorch's own errors (out of memory, unsupported op): the message without its C++ backtrace.
        std::cerr << "attnscope " << command << ": error: " << e.what_without_backtrace() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "attnscope " << command << ": error: " << e.what() << "\n";
        return 1;
    }
}
