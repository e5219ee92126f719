#include "rkv/server/chat_page.h"

namespace rkv::server {

// Text from the model is only ever put into the page with textContent, never
// as markup.
std::string_view chat_page_html() {
  static constexpr std::string_view page = R"rkvpage(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rkv chat</title>
<style>
  :root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --bg: #fafafa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg);
         display: grid; grid-template-rows: auto 1fr auto; height: 100vh; }
  header { padding: 8px 16px; border-bottom: 1px solid var(--line); background: #fff; display: flex; gap: 16px;
           align-items: baseline; flex-wrap: wrap; }
  header b { font-size: 17px; }
  #status { color: var(--muted); }
  #settings { font-size: 13px; }
  #settings label { margin-right: 10px; white-space: nowrap; }
  #settings input { width: 80px; }
  #main { overflow: auto; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); }
  #log { padding: 16px; overflow: auto; }
  #kv { padding: 16px; border-left: 1px solid var(--line); background: #fff; overflow: auto; }
  #kv h2 { font-size: 14px; margin: 0 0 6px; }
  #kv-summary { color: var(--muted); font-size: 13px; margin-bottom: 8px; }
  #kv-tokens { font: 12px/1.7 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
  .tok { border-radius: 2px; }
  .tok.kept { background: #bfdbfe; }
  .tok.partial { background: #e0e7ff; }
  .tok.evicted { color: #b0b0b0; text-decoration: line-through; }
  .tok.new { background: #fef3c7; }
  .msg { margin: 0 0 14px; padding: 10px 12px; border-radius: 8px; background: #fff; border: 1px solid var(--line);
         white-space: pre-wrap; }
  .msg.user { background: #eef2ff; }
  .msg .thinking { color: var(--muted); margin-bottom: 6px; }
  .msg .thinking summary { cursor: pointer; }
  .msg .figures { color: var(--muted); font-size: 12px; margin-top: 6px; }
  .msg .error { color: #b91c1c; }
  form { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--line); background: #fff; }
  textarea { flex: 1; height: 60px; font: inherit; padding: 6px; }
  button { padding: 0 16px; }
</style>
</head>
<body>
<header>
  <b>rkv</b><span id="status">connecting…</span>
  <div id="settings">
    <label>max tokens <input id="max_tokens" type="number" min="1" placeholder="server's"></label>
    <label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.6"></label>
    <label>KV <select id="method">
      <option value="">server default</option><option>rkv</option><option>snapkv</option><option>h2o</option>
      <option>streamingllm</option><option>fullkv</option></select></label>
    <label>budget <input id="budget" type="number" min="1" value="1024"></label>
    <label>buffer <input id="divide_length" type="number" min="1" value="128"></label>
    <label>API key <input id="api_key" type="password" autocomplete="off"></label>
  </div>
</header>
<div id="main">
  <div id="log"></div>
  <section id="kv">
    <h2>What the cache keeps</h2>
    <div id="kv-summary">No compression yet: every token is in the cache.</div>
    <div id="kv-tokens"></div>
  </section>
</div>
<form id="form">
  <textarea id="input" placeholder="Ask something (Enter sends, Shift+Enter: new line)"></textarea>
  <button id="send" type="submit">Send</button>
  <button id="stop" type="button" disabled>Stop</button>
</form>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const conversation = [];
let controller = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function mib(bytes) { return (bytes / 1048576).toFixed(bytes < 10485760 ? 2 : 1) + " MiB"; }
function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api_key").value || localStorage.getItem("rkv_api_key") || "";
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

async function loadStatus() {
  try {
    const health = await fetch("/health");
    if (health.status !== 200) { $("status").textContent = "model loading…"; setTimeout(loadStatus, 1000); return; }
    const models = await fetch("/v1/models", { headers: headers() });
    if (models.status === 401) { $("status").textContent = "ready (enter the API key)"; return; }
    const m = (await models.json()).data[0];
    $("status").textContent = m.id + " · context " + m.max_model_len + " tokens";
  } catch (e) {
    $("status").textContent = "server unreachable";
  }
}

// The live view: one span per generated token, marked by how many layers keep it.
const view = { spans: new Map(), prompt: 0, layers: 0 };
function resetView() {
  view.spans.clear();
  $("kv-tokens").textContent = "";
  $("kv-summary").textContent = "No compression yet: every token is in the cache.";
}
function addToken(position, text) {
  let span = view.spans.get(position);
  if (!span) {
    span = el("span", "tok new", "");
    span.dataset.position = position;
    view.spans.set(position, span);
    $("kv-tokens").appendChild(span);
  }
  span.textContent += text;
}
function showKept(ev) {
  view.prompt = ev.prompt_tokens;
  view.layers = ev.layers;
  let held = 0;
  for (const k of ev.kept) held += k;
  for (const [position, span] of view.spans) {
    if (position >= ev.length) { span.className = "tok new"; continue; }
    const k = ev.kept[position];
    span.className = "tok " + (k === ev.layers ? "kept" : k === 0 ? "evicted" : "partial");
    span.title = "kept by " + k + " of " + ev.layers + " layers";
  }
  $("kv-summary").textContent = "After " + ev.length + " tokens the cache holds " + (held / ev.layers).toFixed(0) +
      " of them per layer (mean over " + ev.layers + " layers); struck-out tokens are evicted everywhere.";
}

function figures(usage) {
  const r = usage.rkv || {};
  const tps = r.decode_seconds > 0 ? (Math.max(usage.completion_tokens - 1, 0) / r.decode_seconds).toFixed(1) : "–";
  const parts = [usage.completion_tokens + " tokens (" + usage.completion_tokens_details.reasoning_tokens + " thinking)",
                 tps + " tok/s"];
  if (r.kv_peak_bytes !== undefined)
    parts.push("KV " + mib(r.kv_peak_bytes) + " held vs " + mib(r.fullkv_bytes) + " with FullKV (" +
               (100 * r.kv_peak_bytes / Math.max(r.fullkv_bytes, 1)).toFixed(0) + "%)");
  parts.push(r.method + (r.budget ? " budget " + r.budget : "") + ", " + r.compressions + " compressions");
  if (r.first_token_seconds) parts.push("first token " + r.first_token_seconds.toFixed(2) + " s");
  return parts.join(" · ");
}

async function send(text) {
  conversation.push({ role: "user", content: text });
  $("log").appendChild(el("div", "msg user", text));
  const msg = el("div", "msg assistant");
  const thinking = el("details", "thinking");
  const summary = el("summary", "", "Thinking…");
  const reasoning = el("div", "reasoning");
  thinking.append(summary, reasoning);
  thinking.hidden = true;
  const content = el("div", "content");
  const fig = el("div", "figures");
  msg.append(thinking, content, fig);
  $("log").appendChild(msg);
  resetView();

  const body = { messages: conversation, stream: true, stream_options: { include_usage: true }, kv_view: true,
                 temperature: Number($("temperature").value) };
  if ($("max_tokens").value) body.max_tokens = Number($("max_tokens").value);  // else the server's, within the context
  if ($("method").value) {
    body.kv_compression = { method: $("method").value };
    if ($("method").value !== "fullkv")
      Object.assign(body.kv_compression, { budget: Number($("budget").value), divide_length: Number($("divide_length").value) });
  }
  controller = new AbortController();
  $("stop").disabled = false;
  $("send").disabled = true;
  let answer = "", thought = "";
  try {
    const res = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body),
                                                       signal: controller.signal });
    if (!res.ok) {
      const err = await res.json().catch(() => ({ error: { message: "HTTP " + res.status } }));
      content.appendChild(el("span", "error", err.error.message));
      conversation.pop();
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) { content.appendChild(el("span", "error", chunk.error.message)); continue; }
        if (chunk.rkv_kv) showKept(chunk.rkv_kv);
        if (chunk.usage) fig.textContent = figures(chunk.usage);
        for (const choice of chunk.choices || []) {
          const d = choice.delta || {};
          if (d.reasoning_content) { thinking.hidden = false; thought += d.reasoning_content; reasoning.textContent = thought; }
          if (d.content) { answer += d.content; content.textContent = answer; }
          if (chunk.rkv_position !== undefined) addToken(chunk.rkv_position, (d.reasoning_content || "") + (d.content || ""));
        }
      }
    }
    if (thought) summary.textContent = "Thought (" + thought.length + " characters) — click to show";
    conversation.push({ role: "assistant", content: answer });
  } catch (e) {
    content.appendChild(el("span", "error", e.name === "AbortError" ? " [stopped]" : " [" + e.message + "]"));
    conversation.pop();
  } finally {
    controller = null;
    $("stop").disabled = true;
    $("send").disabled = false;
    document.body.dataset.state = "idle";
  }
}

$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  document.body.dataset.state = "busy";
  send(text);
});
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
});
$("stop").addEventListener("click", () => controller && controller.abort());
$("api_key").addEventListener("change", () => { localStorage.setItem("rkv_api_key", $("api_key").value); loadStatus(); });

const params = new URLSearchParams(location.search);
for (const key of ["max_tokens", "temperature", "method", "budget", "divide_length"])
  if (params.has(key)) $(key).value = params.get(key);
loadStatus();
if (params.get("prompt")) {
  $("input").value = params.get("prompt");
  if (params.get("autosend") === "1") $("form").requestSubmit();
}
</script>
</body>
</html>
)rkvpage";
  return page;
}

}  // namespace rkv::server
