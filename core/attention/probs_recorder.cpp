#include "probs_recorder.h"

#include <cstdio>
#include <stdexcept>

namespace attnscope {

std::string probs_key(const AttentionSite& site) {
    char key[32];
    std::snprintf(key, sizeof key, "p.%02d.%s", site.index, to_string(site.kind));
    return key;
}

void ProbsRecorder::on_attention(const AttentionSite& site, const AttentionTensors& t) {
    if (!t.probs.defined() && missing_.empty()) missing_ = site.label();
    probs_[probs_key(site)] = t.probs;
}

const std::map<std::string, at::Tensor>& ProbsRecorder::probs() const {
    if (!missing_.empty())
        throw std::runtime_error("the attention backend of " + missing_ +
                                 " does not materialize probabilities; use --backend math");
    return probs_;
}

} // namespace attnscope
