#include "prompt_grammar.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace attnscope {

namespace {

struct Node {
    enum class Kind { Word, Rule, Sequence, Choice, Optional };
    Kind kind = Kind::Word;
    std::string text;         // the word, or the rule's name
    std::size_t rule = 0;     // the rule a Rule node refers to, once names are resolved
    std::size_t position = 0; // in the grammar's text, for messages
    std::vector<Node> items;  // a Sequence's or Choice's parts; an Optional's one part
};

struct Rule {
    std::string name; // empty for an unnamed first rule
    std::size_t position = 0;
    Node body;
};

struct Token {
    enum class Kind { Word, Name, Sign, End };
    Kind kind = Kind::End;
    std::string text;
    std::size_t position = 0;
};

constexpr std::string_view kSigns = "[]()|;=";
// Bounds on brackets within brackets and on rules reached through rules: a grammar is read, matched and
// sampled recursively, and a model's file should not be able to exhaust the stack.
constexpr int kMaxDepth = 32;

std::invalid_argument error_at(std::size_t position, const std::string& what) {
    return std::invalid_argument("prompt grammar, character " + std::to_string(position + 1) + ": " + what);
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name(const std::string& s) {
    return s[0] >= 'A' && s[0] <= 'Z' && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
           });
}

std::vector<Token> lex(std::string_view text) {
    std::vector<Token> tokens;
    for (std::size_t i = 0; i < text.size();) {
        if (is_space(text[i])) {
            ++i;
        } else if (kSigns.find(text[i]) != std::string_view::npos) {
            tokens.push_back({Token::Kind::Sign, std::string(1, text[i]), i});
            ++i;
        } else {
            std::size_t end = i;
            while (end < text.size() && !is_space(text[end]) &&
                   kSigns.find(text[end]) == std::string_view::npos)
                ++end;
            std::string run(text.substr(i, end - i));
            const bool name = is_name(run);
            // A word is compared with the tokenizer's lower-cased words: a capital in one could never match.
            if (!name && std::any_of(run.begin(), run.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
                throw error_at(i, "'" + run +
                                      "' mixes cases: a word is in lower case, a rule's NAME in capitals");
            tokens.push_back({name ? Token::Kind::Name : Token::Kind::Word, std::move(run), i});
            i = end;
        }
    }
    tokens.push_back({Token::Kind::End, "", text.size()});
    return tokens;
}

class Parser {
  public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    std::vector<Rule> rules() {
        std::vector<Rule> rules;
        do {
            rules.push_back(rule(rules.empty()));
        } while (accept(";"));
        if (peek().kind != Token::Kind::End) throw error_at(peek().position, "expected ';' or the end");
        return rules;
    }

  private:
    const Token& peek(std::size_t ahead = 0) const {
        return tokens_[std::min(at_ + ahead, tokens_.size() - 1)];
    }
    bool is_sign(const Token& t, const char* sign) const {
        return t.kind == Token::Kind::Sign && t.text == sign;
    }
    bool accept(const char* sign) {
        if (!is_sign(peek(), sign)) return false;
        ++at_;
        return true;
    }

    Rule rule(bool first) {
        Rule r;
        r.position = peek().position;
        if (peek().kind == Token::Kind::Name && is_sign(peek(1), "=")) {
            r.name = peek().text;
            at_ += 2;
        } else if (!first) {
            throw error_at(r.position, "every rule after the first is NAME = ...");
        }
        r.body = alternatives();
        return r;
    }

    Node alternatives() {
        Node choice{Node::Kind::Choice, "", 0, peek().position, {sequence()}};
        while (accept("|")) choice.items.push_back(sequence());
        return choice.items.size() == 1 ? std::move(choice.items.front()) : choice;
    }

    Node sequence() {
        Node seq{Node::Kind::Sequence, "", 0, peek().position, {}};
        for (;;) {
            const Token& t = peek();
            if (t.kind == Token::Kind::Word || t.kind == Token::Kind::Name) {
                seq.items.push_back({t.kind == Token::Kind::Word ? Node::Kind::Word : Node::Kind::Rule,
                                     t.text,
                                     0,
                                     t.position,
                                     {}});
                ++at_;
            } else if (accept("[")) {
                seq.items.push_back({Node::Kind::Optional, "", 0, t.position, {nested(t.position)}});
                close("]", t.position);
            } else if (accept("(")) {
                seq.items.push_back(nested(t.position));
                close(")", t.position);
            } else {
                break;
            }
        }
        if (seq.items.empty())
            throw error_at(peek().position, "expected a word, a NAME, '[' or '(' (an alternative is empty)");
        return seq.items.size() == 1 ? std::move(seq.items.front()) : seq;
    }

    Node nested(std::size_t opened) {
        if (++depth_ > kMaxDepth)
            throw error_at(opened, "brackets nested more than " + std::to_string(kMaxDepth) + " deep");
        auto inside = alternatives();
        --depth_;
        return inside;
    }

    void close(const char* sign, std::size_t opened) {
        if (!accept(sign))
            throw error_at(peek().position, std::string("expected '") + sign +
                                                "' to close the one at character " +
                                                std::to_string(opened + 1));
    }

    std::vector<Token> tokens_;
    std::size_t at_ = 0;
    int depth_ = 0;
};

// Every Rule node gets its rule's index; throws for a name no rule defines.
void resolve(Node& n, const std::map<std::string, std::size_t>& index) {
    if (n.kind == Node::Kind::Rule) {
        const auto it = index.find(n.text);
        if (it == index.end()) throw error_at(n.position, "no rule defines " + n.text);
        n.rule = it->second;
    }
    for (auto& item : n.items) resolve(item, index);
}

void referenced(const Node& n, std::vector<std::size_t>& out) {
    if (n.kind == Node::Kind::Rule) out.push_back(n.rule);
    for (const auto& item : n.items) referenced(item, out);
}

// Depth-first from the first rule: a rule met again while it is being expanded makes the grammar
// infinite; a rule never met is a mistake (its words would count as known without being in any caption).
// Then no chain of rules may be longer than kMaxDepth (measured without recursion: rules as they finished).
void check_rules_are_finite_and_shallow(const std::vector<Rule>& rules) {
    enum class Mark { Unseen, Open, Done };
    std::vector<Mark> marks(rules.size(), Mark::Unseen);
    std::vector<std::size_t> finished;
    const auto visit = [&](const auto& self, std::size_t r, int depth) -> void {
        if (depth > kMaxDepth)
            throw error_at(rules[r].position,
                           "rules reached through more than " + std::to_string(kMaxDepth) + " others");
        marks[r] = Mark::Open;
        std::vector<std::size_t> next;
        referenced(rules[r].body, next);
        for (const auto n : next) {
            if (marks[n] == Mark::Open)
                throw error_at(rules[n].position, "rule " + rules[n].name + " refers to itself" +
                                                      (n == r ? "" : " through " + rules[r].name));
            if (marks[n] == Mark::Unseen) self(self, n, depth + 1);
        }
        marks[r] = Mark::Done;
        finished.push_back(r);
    };
    visit(visit, 0, 0);
    for (std::size_t r = 0; r < rules.size(); ++r)
        if (marks[r] == Mark::Unseen)
            throw error_at(rules[r].position, "rule " + rules[r].name + " is never used");
    std::vector<int> height(rules.size(), 0);
    for (const auto r : finished) {
        std::vector<std::size_t> next;
        referenced(rules[r].body, next);
        for (const auto n : next) height[r] = std::max(height[r], height[n] + 1);
        if (height[r] > kMaxDepth)
            throw error_at(rules[r].position,
                           "rules reached through more than " + std::to_string(kMaxDepth) + " others");
    }
}

void collect_words(const Node& n, std::set<std::string>& out) {
    if (n.kind == Node::Kind::Word) out.insert(n.text);
    for (const auto& item : n.items) collect_words(item, out);
}

// A word list: a rule whose every alternative is one word.
bool is_word_list(const Node& body) {
    return body.kind == Node::Kind::Word ||
           (body.kind == Node::Kind::Choice &&
            std::all_of(body.items.begin(), body.items.end(),
                        [](const Node& n) { return n.kind == Node::Kind::Word; }));
}

// splitmix64: unlike <random>'s distributions it draws the same numbers with every standard library.
class SplitMix64 {
  public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

  private:
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_;
};

// Where the matches of a node that start at a position of the caption end. A rule's ends are kept per start
// position, so a grammar whose rules refer to others many times over is matched in polynomial time.
class Matcher {
  public:
    Matcher(const std::vector<Rule>& rules, const std::vector<std::string>& caption)
        : rules_(rules), caption_(caption) {}

    std::set<std::size_t> ends(const Node& n, std::size_t p) {
        switch (n.kind) {
        case Node::Kind::Word:
            if (p < caption_.size() && caption_[p] == n.text) return {p + 1};
            return {};
        case Node::Kind::Rule: {
            const auto key = std::make_pair(n.rule, p);
            if (const auto it = memo_.find(key); it != memo_.end()) return it->second;
            return memo_[key] = ends(rules_[n.rule].body, p);
        }
        case Node::Kind::Sequence: {
            std::set<std::size_t> at = {p};
            for (const auto& item : n.items) at = ends(item, at);
            return at;
        }
        case Node::Kind::Choice:
            return ends(n.items, p);
        case Node::Kind::Optional: {
            auto out = ends(n.items.front(), p);
            out.insert(p);
            return out;
        }
        }
        return {};
    }

  private:
    std::set<std::size_t> ends(const Node& n, const std::set<std::size_t>& from) {
        std::set<std::size_t> out;
        for (const auto p : from) {
            const auto e = ends(n, p);
            out.insert(e.begin(), e.end());
        }
        return out;
    }
    std::set<std::size_t> ends(const std::vector<Node>& choices, std::size_t p) {
        std::set<std::size_t> out;
        for (const auto& c : choices) {
            const auto e = ends(c, p);
            out.insert(e.begin(), e.end());
        }
        return out;
    }

    const std::vector<Rule>& rules_;
    const std::vector<std::string>& caption_;
    std::map<std::pair<std::size_t, std::size_t>, std::set<std::size_t>> memo_;
};

// The most words a caption of the node can have, at most `cap` + 1 (rules' lengths kept in `memo`).
std::size_t longest(const Node& n, const std::vector<Rule>& rules, std::vector<std::size_t>& memo,
                    std::size_t cap) {
    switch (n.kind) {
    case Node::Kind::Word:
        return 1;
    case Node::Kind::Rule:
        if (memo[n.rule] == 0) memo[n.rule] = longest(rules[n.rule].body, rules, memo, cap);
        return memo[n.rule];
    case Node::Kind::Sequence: {
        std::size_t sum = 0;
        for (const auto& item : n.items) sum = std::min(cap + 1, sum + longest(item, rules, memo, cap));
        return sum;
    }
    case Node::Kind::Choice: {
        std::size_t most = 0;
        for (const auto& item : n.items) most = std::max(most, longest(item, rules, memo, cap));
        return most;
    }
    case Node::Kind::Optional:
        return longest(n.items.front(), rules, memo, cap);
    }
    return 0;
}

// CLIP reads 75 words at most between its start and end tokens.
constexpr std::size_t kMaxCaptionWords = 75;

} // namespace

struct PromptGrammar::Impl {
    std::vector<Rule> rules; // rules[0] is the caption
    std::vector<std::string> words;

    void emit(const Node& n, SplitMix64& rng, std::vector<std::string>& caption) const {
        switch (n.kind) {
        case Node::Kind::Word:
            caption.push_back(n.text);
            return;
        case Node::Kind::Rule: {
            const Node& body = rules[n.rule].body;
            if (!is_word_list(body) || body.kind == Node::Kind::Word) return emit(body, rng, caption);
            std::vector<const Node*> fresh;
            for (const auto& w : body.items)
                if (std::find(caption.begin(), caption.end(), w.text) == caption.end()) fresh.push_back(&w);
            if (fresh.empty()) return emit(body, rng, caption);
            caption.push_back(fresh[rng.below(fresh.size())]->text);
            return;
        }
        case Node::Kind::Sequence:
            for (const auto& item : n.items) emit(item, rng, caption);
            return;
        case Node::Kind::Choice:
            return emit(n.items[rng.below(n.items.size())], rng, caption);
        case Node::Kind::Optional:
            if (rng.below(2) == 1) emit(n.items.front(), rng, caption);
            return;
        }
    }
};

PromptGrammar::PromptGrammar(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PromptGrammar::~PromptGrammar() = default;
PromptGrammar::PromptGrammar(PromptGrammar&&) noexcept = default;
PromptGrammar& PromptGrammar::operator=(PromptGrammar&&) noexcept = default;

PromptGrammar PromptGrammar::parse(std::string_view text) {
    auto impl = std::make_unique<Impl>();
    impl->rules = Parser(lex(text)).rules();
    std::map<std::string, std::size_t> index;
    for (std::size_t r = 0; r < impl->rules.size(); ++r) {
        const auto& rule = impl->rules[r];
        if (!rule.name.empty() && !index.emplace(rule.name, r).second)
            throw error_at(rule.position, "rule " + rule.name + " is defined twice");
    }
    for (auto& rule : impl->rules) resolve(rule.body, index);
    check_rules_are_finite_and_shallow(impl->rules);
    // Also what keeps sampling cheap: a caption visits few more parts of the grammar than it has words.
    std::vector<std::size_t> lengths(impl->rules.size(), 0);
    if (longest(impl->rules.front().body, impl->rules, lengths, kMaxCaptionWords) > kMaxCaptionWords)
        throw error_at(0, "a caption can have more than " + std::to_string(kMaxCaptionWords) +
                              " words, more than CLIP's 77 tokens hold");
    std::set<std::string> words;
    for (const auto& rule : impl->rules) collect_words(rule.body, words);
    impl->words.assign(words.begin(), words.end());
    return PromptGrammar(std::move(impl));
}

const std::vector<std::string>& PromptGrammar::words() const {
    return impl_->words;
}

bool PromptGrammar::knows(std::string_view word) const {
    return std::binary_search(impl_->words.begin(), impl_->words.end(), word);
}

bool PromptGrammar::accepts(const std::vector<std::string>& words) const {
    return Matcher(impl_->rules, words).ends(impl_->rules.front().body, 0).count(words.size()) > 0;
}

std::string PromptGrammar::sample(std::uint64_t seed) const {
    SplitMix64 rng(seed);
    std::vector<std::string> caption;
    impl_->emit(impl_->rules.front().body, rng, caption);
    std::string text;
    for (const auto& w : caption) text += (text.empty() ? "" : " ") + w;
    return text;
}

} // namespace attnscope
