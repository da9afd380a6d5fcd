#pragma once
// Keeps every site's attention probabilities of a forward pass under the names the inspection files use:
// "p.NN.self" / "p.NN.cross" (NN = 01..16), each (B*heads, Sq, Sk) batch-major.
#include "attention_site.h"

#include <map>
#include <string>

namespace attnscope {

std::string probs_key(const AttentionSite& site); // "p.01.self"

class ProbsRecorder final : public AttentionObserver {
  public:
    void on_attention(const AttentionSite& site, const AttentionTensors& t) override;
    bool wants_probs() const override { return true; }
    // Throws std::runtime_error naming the first site whose backend did not materialize P.
    const std::map<std::string, at::Tensor>& probs() const;

  private:
    std::map<std::string, at::Tensor> probs_;
    std::string missing_;
};

} // namespace attnscope
