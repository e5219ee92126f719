#!/usr/bin/env node
// A serving benchmark for `rkv serve`, in the style of vLLM's
// benchmark_serving: requests sent at a given rate or concurrency to
// /v1/completions (streamed), reporting time to first token, inter-token
// latency (the gaps between streamed chunks), output tokens/s, and — read
// from the server's /metrics once a second — how many sequences ran at once
// and the KV bytes they held. Prompts are random token ids (no tokenizer
// needed), generation ignores end-of-sequence so every stream runs to
// --max-tokens. With --duration the run stops after that many seconds and
// cancels what is still streaming (long streams: a measurement window).
// Node 20+, no packages.
//
//   node bench/serve_bench.mjs --url http://127.0.0.1:8080 --concurrency 32 --requests 32 \
//       --prompt-tokens 32 --max-tokens 6144 --duration 90 --label rkv-1024
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8080" },
    "api-key": { type: "string", default: "" },
    requests: { type: "string", default: "32" },
    concurrency: { type: "string", default: "0" },  // 0: no limit (all at once, or by --rate)
    rate: { type: "string", default: "inf" },       // requests/s, Poisson arrivals; inf: all at t = 0
    "prompt-tokens": { type: "string", default: "32" },
    "max-tokens": { type: "string", default: "256" },
    duration: { type: "string", default: "0" },     // seconds; 0: until every request ends
    warmup: { type: "string", default: "0" },       // seconds: tokens before this are left out of steady_tokens_per_s
    "kv-compression": { type: "string", default: "" },  // JSON for the per-request kv_compression object
    "vocab-range": { type: "string", default: "1000,20000" },
    seed: { type: "string", default: "1" },
    label: { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
});
const n = Number(opt.requests), concurrency = Number(opt.concurrency), rate = Number(opt.rate), warmup = Number(opt.warmup);
const promptTokens = Number(opt["prompt-tokens"]), maxTokens = Number(opt["max-tokens"]), duration = Number(opt.duration);
const [vlo, vhi] = opt["vocab-range"].split(",").map(Number);
const headers = { "Content-Type": "application/json" };
if (opt["api-key"]) headers.Authorization = "Bearer " + opt["api-key"];

let state = Number(opt.seed) >>> 0 || 1;  // xorshift32: the same prompts for every run
const random = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), (state >>> 0) / 4294967296);

const controller = new AbortController();
const t0 = performance.now();
const now = () => (performance.now() - t0) / 1000;

async function one(i) {
  const prompt = Array.from({ length: promptTokens }, () => vlo + Math.floor(random() * (vhi - vlo)));
  const body = { prompt, max_tokens: maxTokens, ignore_eos: true, stream: true, temperature: 0,
                 stream_options: { include_usage: true } };
  if (opt["kv-compression"]) body.kv_compression = JSON.parse(opt["kv-compression"]);
  // chunks: token chunks seen; tokens: the usage's count once the stream ends (a chunk may hold
  // several tokens' text, or none)
  const r = { start: now(), ttft: null, gaps: [], chunks: 0, steady: 0, tokens: null, status: 0, finished: false, error: "" };
  try {
    const res = await fetch(opt.url + "/v1/completions", { method: "POST", headers, body: JSON.stringify(body),
                                                            signal: controller.signal });
    r.status = res.status;
    if (res.status !== 200) { r.error = (await res.text()).slice(0, 200); return r; }
    const decoder = new TextDecoder();
    let buffer = "", last = null;
    for await (const bytes of res.body) {
      buffer += decoder.decode(bytes, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        if (event === "data: [DONE]") { r.finished = true; continue; }
        const chunk = JSON.parse(event.slice(6));
        if (chunk.error) { r.error = chunk.error.message; continue; }
        if (chunk.usage) r.tokens = chunk.usage.completion_tokens;
        if (!chunk.choices || chunk.choices.length === 0 || chunk.choices[0].finish_reason) continue;
        const t = now();
        if (t >= warmup) ++r.steady;
        if (r.ttft === null) r.ttft = t - r.start;
        else r.gaps.push(t - last);
        last = t;
        ++r.chunks;
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") r.error = String(e);
  }
  return r;
}

// /metrics once a second: running / waiting sequences, KV bytes in use.
const samples = [];
async function sample() {
  try {
    const res = await fetch(opt.url + "/metrics", { headers });
    const text = await res.text();
    const get = (name) => Number((text.match(new RegExp("^" + name + " (\\S+)$", "m")) || [])[1] ?? NaN);
    samples.push({ t: now(), running: get("rkv_sequences_running"), waiting: get("rkv_sequences_waiting"),
                   kv: get("rkv_kv_bytes_in_use") });
  } catch {}
}
const sampler = setInterval(sample, 1000);

// Arrivals: all at once, or Poisson at --rate; at most --concurrency in flight.
const results = [];
let inFlight = 0, next = 0;
const waiters = [];
async function launch(i) {
  while (concurrency > 0 && inFlight >= concurrency) await new Promise((r) => waiters.push(r));
  ++inFlight;
  const r = await one(i);
  --inFlight;
  results.push(r);
  const w = waiters.shift();
  if (w) w();
}
if (duration > 0) setTimeout(() => controller.abort(), duration * 1000);
const launched = [];
for (next = 0; next < n && !controller.signal.aborted; ++next) {
  launched.push(launch(next));
  if (Number.isFinite(rate)) await new Promise((r) => setTimeout(r, (-Math.log(1 - random()) / rate) * 1000));
}
await Promise.all(launched);
const elapsed = now();
clearInterval(sampler);
await sample();

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const ttfts = results.filter((r) => r.ttft !== null).map((r) => r.ttft * 1000);
const gaps = results.flatMap((r) => r.gaps.map((g) => g * 1000));
const tokens = results.reduce((a, r) => a + (r.tokens ?? r.chunks), 0);
const running = samples.map((s) => s.running).filter(Number.isFinite);
const busy = samples.filter((s) => s.running > 0);
const summary = {
  label: opt.label, url: opt.url, requests: n, concurrency, rate: opt.rate, prompt_tokens: promptTokens,
  max_tokens: maxTokens, duration_limit_s: duration, kv_compression: opt["kv-compression"] || "server default",
  elapsed_s: +elapsed.toFixed(2),
  finished: results.filter((r) => r.finished).length,
  cancelled_at_window_end: results.filter((r) => !r.finished && !r.error && r.status === 200).length,
  refused_or_failed: results.filter((r) => r.error || r.status !== 200).length,
  first_error: (results.find((r) => r.error) || {}).error || "",
  output_tokens: tokens,
  output_tokens_per_s: +(tokens / elapsed).toFixed(2),
  // token chunks after --warmup (prefills done, the batch full) per second
  steady_tokens_per_s: warmup > 0 ? +(results.reduce((a, r) => a + r.steady, 0) / Math.max(elapsed - warmup, 1e-9)).toFixed(2) : null,
  running_peak: Math.max(0, ...running),
  running_mean_while_busy: +mean(busy.map((s) => s.running)).toFixed(2),
  kv_bytes_in_use_peak: Math.max(0, ...samples.map((s) => s.kv).filter(Number.isFinite)),
  ttft_ms: { mean: +mean(ttfts).toFixed(1), median: +pct(ttfts, 50).toFixed(1), p99: +pct(ttfts, 99).toFixed(1) },
  itl_ms: { mean: +mean(gaps).toFixed(1), median: +pct(gaps, 50).toFixed(1), p99: +pct(gaps, 99).toFixed(1) },
};
if (opt.json) {
  console.log(JSON.stringify(summary));
} else {
  console.log(`== ${summary.label || "run"}: ${opt.url}`);
  for (const [k, v] of Object.entries(summary)) if (k !== "label") console.log(`${k.padEnd(26)} ${typeof v === "object" ? JSON.stringify(v) : v}`);
}
