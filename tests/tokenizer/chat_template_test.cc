// Chat templates: every rendering of ../shared/tokenizers/*/chat_vectors.jsonl
// (Hugging Face's Jinja on the models' own templates) byte for byte, and the
// interpreter's semantics on small templates (expected strings checked
// against Python jinja2 with Hugging Face's settings), errors for constructs
// outside the subset, limits, and the fuzz seed corpus.
#include "rkv/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/testing.h"
#include "rkv/core/error.h"

namespace rkv {
namespace {

using ojson = nlohmann::ordered_json;

const char* kTemplates[] = {"deepseek-r1-distill-qwen-1.5b", "deepseek_v3", "llama3", "llama3_1", "qwen3"};

TEST(ChatTemplateVectors, EveryRenderingMatchesHuggingFace) {
  int checked = 0;
  for (const char* name : kTemplates) {
    std::string rel = std::string("tokenizers/") + name + "/chat_vectors.jsonl";
    RKV_REQUIRE_ASSET(rel);
    ChatTemplate t = ChatTemplate::from_tokenizer_config(test::asset(std::string("tokenizers/") + name));
    std::ifstream in(test::asset(rel));
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ojson v = ojson::parse(line);
      std::string got = t.render(v["messages"], v["add_generation_prompt"].get<bool>());
      EXPECT_EQ(got, v["text"].get<std::string>()) << name << " line " << n + 1;
      ++n;
    }
    EXPECT_EQ(n, 10) << name;
    checked += n;
  }
  EXPECT_EQ(checked, 50);
}

TEST(ChatTemplateVectors, R1DistillEndsWithThink) {
  RKV_REQUIRE_ASSET("tokenizers/deepseek-r1-distill-qwen-1.5b/tokenizer_config.json");
  ChatTemplate t = ChatTemplate::from_tokenizer_config(test::asset("tokenizers/deepseek-r1-distill-qwen-1.5b/tokenizer_config.json"));
  EXPECT_EQ(t.special_tokens()["bos_token"], "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  std::string out = t.render(ojson::parse(R"([{"role":"user","content":"2+2?"}])"), true);
  const std::string tail = "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n";
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
}

TEST(ChatTemplateVectors, Qwen3ThinkingSwitchAndTools) {
  RKV_REQUIRE_ASSET("tokenizers/qwen3/tokenizer_config.json");
  ChatTemplate t = ChatTemplate::from_tokenizer_config(test::asset("tokenizers/qwen3"));
  ojson msgs = ojson::parse(R"([{"role":"user","content":"Hi"}])");
  EXPECT_EQ(t.render(msgs, true, {{"enable_thinking", false}}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  ojson tools = ojson::parse(R"([{"type":"function","function":{"name":"f","parameters":{"b":1,"a":[true,null]}}}])");
  std::string out = t.render(msgs, false, {{"tools", tools}});
  EXPECT_NE(out.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"b\": 1, \"a\": [true, null]}}}\n</tools>"),
            std::string::npos)
      << out;
}

std::string render(const std::string& tpl, const ojson& ctx = ojson::object()) {
  return ChatTemplate(tpl, "t").render_context(ctx);
}

const ojson& ctx() {
  static const ojson c = ojson::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": "  Hi \u00e9\u4f60 "},
                 {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello",
                  "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1, "b": [1.5, null, true, "x\"y\n\u00e9"]}}}]}],
    "x": 7, "s": "a,b,,c", "d": {"k": 1, "a": [1, 2]}, "f": 2.5, "n": null})");
  return c;
}

TEST(ChatTemplateJinja, Arithmetic) {
  EXPECT_EQ(render("{{ x + 1 }}|{{ x / 2 }}|{{ x // 2 }}|{{ -x % 3 }}|{{ 2 ** 10 }}|{{ f * 2 }}|{{ 1e20 }}|{{ 0.0001 }}|{{ 1/3 }}", ctx()),
            "8|3.5|3|2|1024|5.0|1e+20|0.0001|0.3333333333333333");
  EXPECT_EQ(render("{{ x | abs }}|{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 10 / 4 }}|{{ 7 // 2.0 }}|{{ -7 // 2 }}|{{ 7 % -3 }}", ctx()),
            "7|3|2.57|2.0|2.5|3.0|-4|-2");
  EXPECT_EQ(render("{{ 'x' * 3 }}|{{ [1] * 2 }}|{{ [1,2] + [3] }}|{{ '%s-%d' % ('a', 3) }}|{{ '%.2f' % 1.5 }}|{{ '{} {}'.format(1, 'b') }}|{{ 2 ** -1 }}", ctx()),
            "xxx|[1, 1]|[1, 2, 3]|a-3|1.50|1 b|0.5");
}

TEST(ChatTemplateJinja, PythonStrOfValues) {
  EXPECT_EQ(render("{{ 'a' ~ x ~ n ~ none }}|{{ n }}|{{ true }}|{{ [1, 'a', none, 1.0] }}|{{ d }}|{{ \"it's\" }}|{{ ['it\\'s'] }}", ctx()),
            "a7NoneNone|None|True|[1, 'a', None, 1.0]|{'k': 1, 'a': [1, 2]}|it's|[\"it's\"]");
  EXPECT_EQ(render("{{ (1, 2) }}|{{ zz }}|{{ 'a' 'b' }}|{{ d | items | list }}", ctx()), "(1, 2)||ab|[('k', 1), ('a', [1, 2])]");
}

TEST(ChatTemplateJinja, Loops) {
  EXPECT_EQ(render("{% for m in messages %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}"
                   "{{ loop.revindex }}:{{ m.role }};{% endfor %}",
                   ctx()),
            "10TrueFalse33:system;21FalseFalse32:user;32FalseTrue31:assistant;");
  EXPECT_EQ(render("{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }}{% else %}none{% endfor %}", ctx()),
            "1user2assistant");
  EXPECT_EQ(render("{% for m in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for k in d %}{{ k }}{% endfor %}", ctx()), "k=1,a=[1, 2],ka");
  EXPECT_EQ(render("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
            "02");
  EXPECT_EQ(render("{% for a in [[1,2],[3,4]] %}{% for b in a %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }}|{% endfor %}"),
            "11221|13242|");
  EXPECT_EQ(render("{% for m in messages %}{{ loop.previtem.role if not loop.first }}/{{ loop.nextitem.role if not loop.last }};{% endfor %}", ctx()),
            "/user;system/assistant;user/;");
}

TEST(ChatTemplateJinja, ScopesAndNamespaces) {
  EXPECT_EQ(render("{% set ns = namespace(c=0, s='') %}{% for m in messages %}{% set ns.c = ns.c + 1 %}"
                   "{% set ns.s = ns.s + m.role[0] %}{% endfor %}{{ ns.c }}{{ ns.s }}",
                   ctx()),
            "3sua");
  // A plain set inside a loop does not leak out of it; inside an if it does.
  EXPECT_EQ(render("{% set y = 1 %}{% for m in messages %}{% set y = y + 1 %}{% endfor %}{{ y }}", ctx()), "1");
  EXPECT_EQ(render("{% if x is defined %}{% set q = 5 %}{% endif %}{{ q }}", ctx()), "5");
  EXPECT_EQ(render("{% set ns = namespace(a=1) %}{% set ns2 = ns %}{% set ns2.a = 5 %}{{ ns.a }}"), "5");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set c %}block {{ x }}{% endset %}{{ c }}", ctx()), "12|block 7");
  EXPECT_EQ(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }}{{ greet('Al', punct='?') }}"),
            "Hi Bob!Hi Al?");
}

TEST(ChatTemplateJinja, WhitespaceControl) {
  // trim_blocks + lstrip_blocks as Hugging Face configures jinja2.
  EXPECT_EQ(render("  {% if x %}\n    yes\n  {% endif %}\ndone", ctx()), "    yes\ndone");
  EXPECT_EQ(render("a\n{%- if x -%}   trimmed   {%- endif -%}\n  b", ctx()), "atrimmedb");
  EXPECT_EQ(render("  {{- 'a' -}}  \n  {{ 'b' }}\n{# comment #}\n  {#- c -#}\nx", ctx()), "ab\nx");
  EXPECT_EQ(render("x\n"), "x");  // one trailing newline dropped
  EXPECT_EQ(render("a\r\nb"), "a\nb");
  EXPECT_EQ(render("{% raw %}{{ not rendered }}{% endraw %}"), "{{ not rendered }}");
  EXPECT_EQ(render("{%- for m in messages %}\n  {%- if m.role == 'user' %}\n    {{- '<u>' + m.content + '</u>\\n' }}\n"
                   "  {%- elif m.role == 'assistant' %}\n    {{- '<a>' + m.content.split('</think>')[-1].lstrip('\\n') }}\n"
                   "  {%- else %}\n    {{- 'sys' }}\n  {%- endif %}\n{%- endfor %}",
                   ctx()),
            "sys<u>  Hi \u00e9\u4f60 </u>\n<a>Hello");
}

TEST(ChatTemplateJinja, StringsFiltersTests) {
  EXPECT_EQ(render("{{ messages[1].content | trim }}|{{ messages[1].content.strip() }}|{{ messages[1]['content'].lstrip() }}|", ctx()),
            "Hi \u00e9\u4f60|Hi \u00e9\u4f60|Hi \u00e9\u4f60 |");
  EXPECT_EQ(render("{{ s.split(',') }}|{{ s.split(',', 1) }}|{{ ' a  b '.split() }}|{{ s.replace(',', ';') }}|{{ s.upper() }}|{{ 'ABC'.lower() }}", ctx()),
            "['a', 'b', '', 'c']|['a', 'b,,c']|['a', 'b']|a;b;;c|A,B,,C|abc");
  EXPECT_EQ(render("{{ s.startswith('a,') }}{{ s.endswith('c') }}{{ s.startswith(('x', 'a')) }}", ctx()), "TrueTrueTrue");
  EXPECT_EQ(render("{{ messages[::-1] | map(attribute='role') | join(', ') }}|{{ messages | length }}|{{ (messages | first).role }}|"
                   "{{ (messages|last).role }}",
                   ctx()),
            "assistant, user, system|3|system|assistant");
  EXPECT_EQ(render("{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|"
                   "{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}",
                   ctx()),
            "1|['system', 'assistant']");
  EXPECT_EQ(render("{{ s[1:] }}|{{ s[:-1] }}|{{ s[::2] }}|{{ s[::-1] }}|{{ messages[-1].role }}|{{ '\u4f60\u597d\u5417'[1] }}|"
                   "{{ '\u4f60\u597d\u5417'[::-1] }}|{{ '\u4f60\u597d\u5417'|length }}",
                   ctx()),
            ",b,,c|a,b,,|ab,|c,,b,a|assistant|\u597d|\u5417\u597d\u4f60|3");
  EXPECT_EQ(render("{{ zz | default('dflt') }}|{{ '' | default('e', true) }}|{{ d.get('k') }}|{{ d.get('q', 'none!') }}|"
                   "{{ d.keys() | list }}|{{ d['a'][1] }}",
                   ctx()),
            "dflt|e|1|none!|['k', 'a']|2");
  EXPECT_EQ(render("{{ 3 | string }}|{{ '42' | int + 1 }}|{{ 'x' | int }}|{{ 3.7 | int }}|{{ [3,1,2] | sort }}|{{ [3,1,2] | reverse | list }}|"
                   "{{ 'abc' | reverse }}|{{ [1,2,3] | sum }}"),
            "3|43|0|3|[1, 2, 3]|[2, 1, 3]|cba|6");
  EXPECT_EQ(render("{{ x if x > 5 else 'small' }}|{{ 'yes' if n is none }}|{{ n is not none }}|{{ zz is defined }}|{{ x is number }}"
                   "{{ s is string }}{{ d is mapping }}{{ messages is iterable }}",
                   ctx()),
            "7|yes|False|False|TrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 'a' in s }}|{{ 'z' not in s }}|{{ 1 in [1,2] }}|{{ 'k' in d }}|{{ 1 < 2 < 3 }}|{{ 3 > 2 > 4 }}|{{ x == 7.0 }}", ctx()),
            "True|True|True|True|True|False|True");
  EXPECT_EQ(render("{{ messages[0].role == 'system' and 'S' or 'N' }}|{{ not x }}|{{ none or 0 or 'z' }}|{{ x and 0 }}", ctx()),
            "S|False|z|0");
  EXPECT_EQ(render("{{ 7 is divisibleby 7 }}|{{ 3 is odd }}|{{ x is sameas 7 }}|{{ [1,2,3][5] }}|{{ d.nothere is defined }}", ctx()),
            "True|True|True||False");
  EXPECT_EQ(render("{% filter upper %}hello {{ x }}{% endfilter %}", ctx()), "HELLO 7");
}

TEST(ChatTemplateJinja, ToJsonIsPythonJsonDumps) {
  EXPECT_EQ(render("{{ messages[2].tool_calls[0].function.arguments | tojson }}", ctx()),
            "{\"a\": 1, \"b\": [1.5, null, true, \"x\\\"y\\n\u00e9\"]}");
  EXPECT_EQ(render("{{ d | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ 1.0 | tojson }}|{{ 1e100 | tojson }}", ctx()),
            "{\n  \"k\": 1,\n  \"a\": [\n    1,\n    2\n  ]\n}|[]|1.0|1e+100");
  EXPECT_EQ(render("{{ '\u00e9\\x01' | tojson }}|{{ '\u00e9' | tojson(ensure_ascii=true) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}"),
            "\"\u00e9\\u0001\"|\"\\u00e9\"|{\"a\": 2, \"b\": 1}");
  EXPECT_EQ(render("{{ 'a\\tb\\\\n\\u00e9\\x41' }}|{{ \"\\\"q\\\"\" }}"), "a\tb\\n\u00e9A|\"q\"");
}

void expect_error(const std::string& tpl, const std::string& needle, const ojson& c = ctx()) {
  try {
    std::string out = ChatTemplate(tpl, "t").render_context(c);
    ADD_FAILURE() << "no error for " << tpl << " (rendered " << out << ")";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << tpl << ": " << e.what();
  }
}

TEST(ChatTemplateJinja, ErrorsNameTheConstructAndLine) {
  expect_error("{{ raise_exception('boom') }}", "boom");
  expect_error("a\n{% include 'x' %}", "line 2: unsupported construct: {% include %}");
  expect_error("{% call foo() %}{% endcall %}", "{% call %}");
  expect_error("{% for m in messages recursive %}{% endfor %}", "recursive");
  expect_error("{{ x | wordwrap }}", "filter 'wordwrap'");
  expect_error("{{ x is foo }}", "test 'foo'");
  expect_error("{{ zz.attr }}", "'zz' is undefined");
  expect_error("{{ 1 + 'a' }}", "unsupported operand");
  expect_error("{{ [1,2].append(3) }}", "append");
  expect_error("{% for x in 5 %}{% endfor %}", "not iterable");
  expect_error("{% if x %}", "endif");
  expect_error("{{ x ", "unclosed");
  expect_error("{{ 'abc }}", "unterminated string");
  expect_error("{% frobnicate %}", "unknown statement {% frobnicate %}");
  expect_error("{{ 1 / 0 }}", "division by zero");
  expect_error("{% break %}", "outside a loop");
  expect_error("{% set x.y = 1 %}", "non-namespace");
}

TEST(ChatTemplateJinja, LimitsStopRunawayTemplates) {
  ChatTemplateLimits small;
  small.max_output_bytes = 1 << 16;
  small.max_steps = 100000;
  auto run = [&](const std::string& tpl) {
    ChatTemplate t(tpl, "t");
    t.set_limits(small);
    return t.render_context(ctx());
  };
  EXPECT_THROW(run("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}"), Error);
  EXPECT_THROW(run("{{ 'x' * 100000000 }}"), Error);
  EXPECT_THROW(run("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"), Error);
  EXPECT_THROW(run("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), Error);
  EXPECT_THROW(ChatTemplate("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"), Error);
  std::string nested_ifs;
  for (int k = 0; k < 300; ++k) nested_ifs += "{% if x %}";
  EXPECT_THROW(ChatTemplate{nested_ifs}, Error);
  EXPECT_THROW(ChatTemplate("{{ " + std::string(5000, '[') + " }}"), Error);
  ojson deep = ojson::array();
  for (int k = 0; k < 1000; ++k) deep = ojson::array({deep});
  EXPECT_THROW(ChatTemplate("{{ messages }}").render(deep, false), Error);
}

TEST(ChatTemplateConfig, SpecialTokensAndTemplateSources) {
  test::TempDir dir;
  {
    std::ofstream(dir.path("tokenizer_config.json"))
        << R"({"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "pad_token": null,
              "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]})";
  }
  ChatTemplate t = ChatTemplate::from_tokenizer_config(dir.dir().string());
  EXPECT_EQ(t.render(ojson::parse(R"([{"role":"user","content":"hi"}])"), false), "<s>hi</s>");
  EXPECT_FALSE(t.special_tokens().contains("pad_token"));
  { std::ofstream(dir.path("chat_template.jinja")) << "J{{ eos_token }}\n"; }
  EXPECT_EQ(ChatTemplate::from_tokenizer_config(dir.dir().string()).render(ojson::array(), false), "J</s>");
  EXPECT_EQ(special_token_text(nlohmann::json::parse(R"({"content": "<x>"})")), "<x>");
  EXPECT_THROW(special_token_text(nlohmann::json(3)), Error);
  { std::ofstream(dir.path("bad.json")) << "{not json"; }
  EXPECT_THROW(ChatTemplate::from_tokenizer_config(dir.path("bad.json")), Error);
  EXPECT_THROW(ChatTemplate::from_tokenizer_config(dir.path("missing.json")), Error);
  { std::ofstream(dir.path("none.json")) << "{\"bos_token\": \"<s>\"}"; }
  EXPECT_THROW(ChatTemplate::from_tokenizer_config(dir.path("none.json")), Error);
}

// A left-associative chain nests one syntax-tree node per term: a long one
// is a named error while parsing (not a stack overflow while evaluating or
// destroying the tree); n-ary chains (~) still render; a template over
// max_source_bytes is refused before parsing.
TEST(ChatTemplateJinja, LongChainsAndHugeTemplatesAreNamedErrors) {
  auto chain = [](const std::string& head, const std::string& term, int terms) {
    std::string tpl = "{{ " + head;
    tpl.reserve(tpl.size() + term.size() * static_cast<size_t>(terms) + 3);
    for (int k = 0; k < terms; ++k) tpl += term;
    return tpl + " }}";
  };
  auto error_of = [](const std::string& tpl, const ChatTemplateLimits& limits) -> std::string {
    try {
      ChatTemplate(tpl, "t", limits).render_context(ctx());
    } catch (const Error& e) {
      return e.what();
    }
    return "rendered";
  };
  ChatTemplateLimits big_source;
  big_source.max_source_bytes = size_t(64) << 20;
  constexpr int kTerms = 100000;
  for (const auto& [head, term] : std::vector<std::pair<std::string, std::string>>{
           {"1", "+1"}, {"1", "*1"}, {"1", " and 1"}, {"0", " or 0"}, {"x", "|abs"}, {"d", ".k"}, {"messages", "[0]"},
           {"range", "(1)"}, {"1", " if 1"}, {"1", " is defined"}, {"-1", "**1"}}) {
    EXPECT_NE(error_of(chain(head, term, kTerms), big_source).find("expression nested too deeply"), std::string::npos) << term;
  }
  EXPECT_NE(error_of(chain("1", "+1", 600000), {}).find("over the limit of 1048576"), std::string::npos);
  EXPECT_EQ(ChatTemplate(chain("1", "+1", 150), "t").render_context(ctx()), "151");
  EXPECT_EQ(ChatTemplate(chain("'a'", "~'b'", kTerms), "t", big_source).render_context(ctx()).size(), size_t{kTerms} + 1);
}

// Replays the fuzzer's seed corpus: each seed parses and renders or fails
// with rkv::Error; the well-formed seeds render, the deep_* / long_* seeds
// (nesting and left-associative chains far past the limits) fail with the
// depth error.
TEST(ChatTemplateCorpus, EverySeedRendersOrFailsCleanly) {
  std::filesystem::path dir = std::filesystem::path(RKV_SOURCE_DIR) / "fuzz" / "corpus" / "chat_template";
  ASSERT_TRUE(std::filesystem::exists(dir));
  int files = 0, rendered = 0, too_deep = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string name = entry.path().filename().string();
    ++files;
    try {
      ChatTemplate t(ss.str(), name);
      t.render(ojson::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Hello there"}])"), true,
               {{"bos_token", "<s>"}});
      ++rendered;
    } catch (const Error& e) {
      if (name.rfind("deep_", 0) == 0 || name.rfind("long_", 0) == 0) {
        ++too_deep;
        EXPECT_NE(std::string(e.what()).find("nested too deeply"), std::string::npos) << name << ": " << e.what();
        continue;
      }
      EXPECT_TRUE(name == "unclosed.jinja" || name == "unsupported.jinja") << name << ": " << e.what();
    }
  }
  EXPECT_GE(files, 21);
  EXPECT_GE(too_deep, 14);
  EXPECT_EQ(rendered, files - 2 - too_deep);
}

}  // namespace
}  // namespace rkv
