#include "rkv/eval/sweep.h"

#include <set>

#include "rkv/core/buffer.h"
#include "rkv/core/error.h"

namespace rkv::eval {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    size_t end = text.find(sep, at);
    out.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos) return out;
    at = end + 1;
  }
}

int64_t parse_count(const std::string& text, const std::string& what) {
  RKV_CHECK(!text.empty() && text.size() <= 12 && text.find_first_not_of("0123456789") == std::string::npos, what,
            ": '", text, "' is not a non-negative integer");
  return std::stoll(text);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

std::vector<SweepPoint> parse_sweep(const std::string& text) {
  std::vector<SweepPoint> points;
  std::set<std::string> seen;
  for (const std::string& item : split(text, ',')) {
    RKV_CHECK(!item.empty(), "--sweep: empty item in '", text, "'");
    const size_t colon = item.find(':');
    SweepPoint p;
    p.method = parse_method(item.substr(0, colon));
    if (p.method == Method::FullKV) {
      RKV_CHECK(colon == std::string::npos, "--sweep: fullkv takes no budget ('", item, "')");
      p.label = "fullkv";
    } else {
      RKV_CHECK(colon != std::string::npos, "--sweep: '", item, "' needs a budget, e.g. ", item, ":256");
      p.budget = parse_count(item.substr(colon + 1), "--sweep " + item);
      RKV_CHECK(p.budget >= 1, "--sweep: the budget of '", item, "' must be >= 1");
      p.label = method_name(p.method) + ":" + std::to_string(p.budget);
    }
    RKV_CHECK(seen.insert(p.label).second, "--sweep: '", p.label, "' appears twice");
    points.push_back(p);
  }
  return points;
}

Shard Shard::parse(const std::string& text) {
  const size_t slash = text.find('/');
  RKV_CHECK(slash != std::string::npos, "--shard: expected I/N (e.g. 0/4), got '", text, "'");
  Shard s;
  s.index = parse_count(text.substr(0, slash), "--shard");
  s.count = parse_count(text.substr(slash + 1), "--shard");
  RKV_CHECK(s.count >= 1 && s.index < s.count, "--shard: need 0 <= I < N, got '", text, "'");
  return s;
}

const char* PromptFormat::reference_template() {
  return "You are given a math problem.\n\nProblem: {question}\n\n You need to solve the problem step by step. First, you "
         "need to provide the chain-of-thought, then provide the final answer.\n\n Provide the final answer in the "
         "format: Final answer:  \\boxed{}";
}

const char* PromptFormat::r1_instruction() {
  return "Please reason step by step, and put your final answer within \\boxed{}.";
}

PromptFormat PromptFormat::parse(const std::string& spec) {
  PromptFormat f;
  if (spec == "rkv") {
    f.style_ = "rkv";
    f.template_ = reference_template();
  } else if (spec == "chat") {
    f.style_ = "chat";
    f.template_ = std::string("{question}\n") + r1_instruction();
    f.chat_ = true;
  } else {
    const bool chat = spec.rfind("chat:", 0) == 0;
    const std::string path = chat ? spec.substr(5) : spec;
    f.style_ = chat ? "chat:file" : "file";
    f.template_ = read_text_file(path);
    RKV_CHECK(f.template_.find("{question}") != std::string::npos, "--prompt ", path,
              ": the template has no {question} (or use --prompt rkv | chat)");
    f.chat_ = chat;
  }
  return f;
}

RequestSpec PromptFormat::input_for(const std::string& question) const {
  RequestSpec spec;
  spec.text = replace_all(template_, "{question}", question);
  spec.chat = chat_;
  return spec;
}

nlohmann::json PromptFormat::describe() const { return {{"style", style_}, {"template", template_}}; }

}  // namespace rkv::eval
