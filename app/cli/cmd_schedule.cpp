// attnscope schedule: a scheduler's timesteps and sigmas, to compare with other implementations.
#include "command_line.h"
#include "commands.h"
#include "options.h"
#include "sched/scheduler.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace attnscope::cli {

int cmd_schedule(const std::vector<std::string>& argv) {
    CommandLine args("schedule",
                     "A scheduler's timesteps and sigmas, to compare with other implementations.");
    args.option("scheduler", "ddim|euler|euler_a|dpmpp_2m_karras|pndm", "the scheduler");
    args.option("steps", "N", "inference steps", "50");
    args.option("prediction", "epsilon|v_prediction", "what the model predicts", "epsilon");
    args.flag("json", "one line of JSON");
    if (!args.parse(argv)) return 0;
    const auto name = args.get("scheduler");
    if (!name)
        throw UsageError("schedule needs --scheduler NAME (ddim, euler, euler_a, dpmpp_2m_karras, pndm)");
    const int steps = args.get_int("steps");
    if (steps < 1 || steps > kTrainTimesteps) throw UsageError("--steps must be between 1 and 1000");
    const auto prediction = parse_prediction(args.value("prediction"));
    const auto sched = make_scheduler(parse_scheduler(*name), prediction, steps);
    if (args.given("json")) {
        const nlohmann::json j{{"scheduler", to_string(sched->kind())},
                               {"prediction", to_string(prediction)},
                               {"steps", steps},
                               {"model_evaluations", sched->num_steps()},
                               {"init_noise_sigma", sched->init_noise_sigma()},
                               {"timesteps", sched->timesteps()},
                               {"sigmas", sched->sigmas()}};
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("%s, %s, %d steps (%d model evaluations), initial noise sigma %.6g\n",
                to_string(sched->kind()).c_str(), to_string(prediction).c_str(), steps, sched->num_steps(),
                sched->init_noise_sigma());
    std::printf("%5s %12s %14s\n", "step", "timestep", "sigma");
    for (int i = 0; i < sched->num_steps(); ++i) {
        if (sched->sigmas().empty())
            std::printf("%5d %12.4f %14s\n", i, sched->timesteps()[i], "-");
        else
            std::printf("%5d %12.4f %14.8g\n", i, sched->timesteps()[i], sched->sigmas()[i]);
    }
    if (!sched->sigmas().empty()) std::printf("%5s %12s %14.8g\n", "end", "", sched->sigmas().back());
    return 0;
}

} // namespace attnscope::cli
