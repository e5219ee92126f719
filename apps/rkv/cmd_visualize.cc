// rkv visualize: renders a --trace-kept trace as one self-contained HTML page:
// the text with kept / evicted tokens coloured for a chosen compression
// event, layer and KV head, and a heat view of how many (layer, head) pairs
// keep each token — what the reference's analysis notebook shows.
//
// Trace format (JSONL, one object per layer per compression; docs/trace-format.md):
//   {"event": 3, "step": 48, "length": 65, "layer": 0, "kv_in": 48,
//    "kept_positions": [[pos, ...] per KV head], "scores": [[...]] (optional)}
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rkv/command.h"
#include "rkv/core/buffer.h"
#include "rkv/core/json.h"
#include "rkv/core/output_file.h"
#include "rkv/flags.h"
#include "rkv/tokenizer/tokenizer.h"

namespace rkv::cli {
namespace {

using nlohmann::json;

// Token texts from: a JSON array of strings; {"pieces": [...]}; or the output
// of `rkv generate --json` ({"prompt_ids", "ids", ...}): ids are decoded one
// by one with the model's tokenizer when one is given, else shown as [id].
std::vector<std::string> load_tokens(const std::string& path, const Tokenizer* tok) {
  const std::string text = read_text_file(path);
  check_json_depth(text, path);
  json j = json::parse(text, nullptr, false);
  RKV_CHECK(!j.is_discarded(), path, ": not valid JSON");
  json items = json::array();  // strings or ids, in order
  auto append = [&](const json& a, const char* what) {
    RKV_CHECK(a.is_array(), path, ": '", what, "' is not an array");
    for (const auto& x : a) {
      RKV_CHECK(x.is_string() || x.is_number_integer(), path, ": '", what, "' must hold strings or token ids");
      items.push_back(x);
    }
  };
  if (j.is_array()) {
    append(j, "tokens");
  } else {
    RKV_CHECK(j.is_object(), path, ": expected an array of tokens or an object");
    if (j.contains("pieces")) {
      append(j["pieces"], "pieces");
    } else {
      RKV_CHECK(j.contains("ids"), path, ": no 'pieces' or 'ids'");
      if (j.contains("prompt_ids")) append(j["prompt_ids"], "prompt_ids");
      append(j["ids"], "ids");
    }
  }
  std::vector<std::string> out;
  std::unique_ptr<StreamDecoder> stream;
  if (tok) stream = std::make_unique<StreamDecoder>(*tok);
  for (const auto& x : items) {
    if (x.is_string()) out.push_back(x.get<std::string>());
    else if (stream) out.push_back(stream->push(x.get<TokenId>()));  // each token's text in context (spaces kept)
    else out.push_back("[" + x.dump() + "]");
  }
  return out;
}

json load_trace(const std::string& path) {
  std::ifstream in(path);
  RKV_CHECK(in.good(), path, ": cannot open");
  json events = json::array();
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    check_json_depth(line, path + ":" + std::to_string(line_no));
    json e = json::parse(line, nullptr, false);
    RKV_CHECK(!e.is_discarded() && e.is_object(), path, ":", line_no, ": not a JSON object");
    for (const char* key : {"event", "step", "layer", "kept_positions"})
      RKV_CHECK(e.contains(key), path, ":", line_no, ": missing '", key, "'");
    RKV_CHECK(e["kept_positions"].is_array(), path, ":", line_no, ": 'kept_positions' is not an array");
    for (const auto& head : e["kept_positions"]) {
      RKV_CHECK(head.is_array(), path, ":", line_no, ": 'kept_positions' must hold one array per head");
      for (const auto& p : head) RKV_CHECK(p.is_number_integer(), path, ":", line_no, ": positions must be integers");
    }
    events.push_back(std::move(e));
  }
  RKV_CHECK(!events.empty(), path, ": no compression events in the trace");
  return events;
}

// JSON text that is inert inside an HTML <script> element: '<', '>' and '&'
// (which could start "</script>", "<!--" or an entity) and U+2028 / U+2029
// (line terminators to older JavaScript) written as \u escapes. They occur
// only inside JSON strings, where the escapes mean the same characters.
std::string script_safe_json(const json& data) {
  const std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xe2' && i + 2 < text.size() && text[i + 1] == '\x80' && (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
      out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

const char* kPage = R"HTML(<!doctype html>
<html><head><meta charset="utf-8"><title>rkv: kept tokens</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;margin:1.5em;max-width:70em;color:#222}
#controls{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd}
label{margin-right:1em}
#text{white-space:pre-wrap;font-family:ui-monospace,monospace;margin-top:1em}
.tok{border-radius:2px}
.kept{background:#b7e4b0}
.evicted{background:#f4c0c0;color:#777;text-decoration:line-through}
.future{color:#bbb}
.legend span{padding:0 .4em;margin-right:.5em}
</style></head><body>
<h2>rkv — which tokens the KV cache kept</h2>
<div id="controls">
<label>event <select id="event"></select></label>
<label>layer <select id="layer"></select></label>
<label>head <select id="head"></select></label>
<label>view <select id="view"><option value="kept">kept / evicted (this layer, head)</option>
<option value="heat">heat: share of (layer, head) pairs keeping each token</option></select></label>
<div class="legend" id="legend"></div>
<div id="summary"></div>
</div>
<div id="text"></div>
<script type="application/json" id="data">@DATA@</script>
<script>
const D = JSON.parse(document.getElementById('data').textContent);
const byEvent = new Map();
for (const e of D.trace) { if (!byEvent.has(e.event)) byEvent.set(e.event, []); byEvent.get(e.event).push(e); }
const events = [...byEvent.keys()].sort((a, b) => a - b);
const $ = id => document.getElementById(id);
function fill(sel, values, labels, pick) {
  sel.innerHTML = '';
  values.forEach((v, i) => { const o = document.createElement('option'); o.value = v; o.textContent = labels[i]; sel.appendChild(o); });
  if (pick !== undefined && values.includes(pick)) sel.value = pick;
}
fill($('event'), events, events.map(e => 'event ' + e + ' (step ' + byEvent.get(e)[0].step + ')'), D.initial.event ?? events[events.length - 1]);
function layersOf(ev) { return byEvent.get(ev).map(e => e.layer).sort((a, b) => a - b); }
function refreshLayers() {
  const ls = layersOf(+$('event').value);
  fill($('layer'), ls, ls.map(String), +($('layer').value || D.initial.layer));
  const e = current(); const hs = e.kept_positions.map((_, i) => i);
  fill($('head'), hs, hs.map(String), +($('head').value || D.initial.head));
}
function current() { return byEvent.get(+$('event').value).find(e => e.layer === +$('layer').value) || byEvent.get(+$('event').value)[0]; }
function render() {
  const e = current(), view = $('view').value;
  const length = e.length ?? (Math.max(...e.kept_positions.flat()) + 1);
  const text = $('text'); text.innerHTML = '';
  let kept = new Set(e.kept_positions[+$('head').value] || []);
  let heat = null, pairs = 0;
  if (view === 'heat') {
    heat = new Map();
    for (const le of byEvent.get(+$('event').value)) for (const h of le.kept_positions) { pairs++; for (const p of h) heat.set(p, (heat.get(p) || 0) + 1); }
  }
  let nKept = 0;
  D.tokens.forEach((t, i) => {
    const s = document.createElement('span');
    s.textContent = t; s.title = 'position ' + i;
    if (i >= length) s.className = 'tok future';
    else if (view === 'heat') { const c = heat.get(i) || 0; s.className = 'tok heat'; s.dataset.count = c;
      s.style.background = 'rgba(40,120,220,' + (c / pairs).toFixed(3) + ')'; s.title += ', kept by ' + c + ' of ' + pairs; }
    else if (kept.has(i)) { s.className = 'tok kept'; nKept++; }
    else s.className = 'tok evicted';
    text.appendChild(s);
  });
  $('summary').textContent = view === 'heat' ? (pairs + ' (layer, head) pairs') :
    ('step ' + e.step + ', layer ' + e.layer + ', head ' + $('head').value + ': kept ' + nKept + ' of ' + Math.min(length, D.tokens.length) + ' tokens');
  $('legend').innerHTML = view === 'heat' ? '' : '<span class="kept">kept</span><span class="evicted">evicted</span><span class="future">not yet generated</span>';
}
$('event').onchange = () => { refreshLayers(); render(); };
for (const id of ['layer', 'head', 'view']) $(id).onchange = render;
refreshLayers(); render();
</script></body></html>
)HTML";

int run_visualize(const Args& args) {
  Flags f("visualize", "--trace TRACE.jsonl --tokens TOKENS.json -o page.html [--event N] [--layer L] [--head H]");
  f.option("--trace", "JSONL written by rkv generate --trace-kept")
      .option("--tokens", "JSON: array of token strings, {\"pieces\": [...]}, or rkv generate --json output")
      .option("-o,--output", "HTML file to write")
      .option("--event", "compression event shown first (default: the last)")
      .option("--layer", "layer shown first", "0")
      .option("--head", "KV head shown first", "0")
      .option("-m,--model", "model folder / tokenizer.json / .gguf to turn token ids into text");
  if (!f.parse(args)) return 0;
  RKV_CHECK(f.given("--trace"), "missing --trace FILE");
  RKV_CHECK(f.given("--tokens"), "missing --tokens FILE");
  RKV_CHECK(f.given("--output"), "missing -o page.html");
  json data;
  data["trace"] = load_trace(f.str("--trace"));
  std::unique_ptr<Tokenizer> tok;
  if (f.given("--model")) tok = std::make_unique<Tokenizer>(Tokenizer::load(f.str("--model")));
  data["tokens"] = load_tokens(f.str("--tokens"), tok.get());
  data["initial"] = {{"layer", f.integer("--layer", 0, INT32_MAX)}, {"head", f.integer("--head", 0, INT32_MAX)}};
  if (f.given("--event")) data["initial"]["event"] = f.integer("--event", 0, INT32_MAX);
  std::string page = kPage;
  page.replace(page.find("@DATA@"), 6, script_safe_json(data));
  write_file_atomically(f.str("--output"), page.data(), page.size());
  std::fprintf(stderr, "wrote %s (%zu compression records, %zu tokens)\n", f.str("--output").c_str(), data["trace"].size(),
               data["tokens"].size());
  return 0;
}

RKV_COMMAND("visualize", "render a --trace-kept trace as an HTML page of kept / evicted tokens", run_visualize);

}  // namespace
}  // namespace rkv::cli
