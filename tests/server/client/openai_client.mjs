// Drives rkv serve with the official `openai` npm package (pinned in
// package-lock.json): chat and completions, streaming and not, the
// reasoning split, stop strings, usage, n, per-request compression, errors,
// and a stream cancelled by the client. Run by tests/server/openai_client_test.cc:
//   node openai_client.mjs SCRIPTED_URL STORIES_URL API_KEY
// SCRIPTED_URL serves the scripted test model (always "Let me think.</think>The answer is 4!"),
// STORIES_URL serves stories260K. Prints "ok - NAME" per check; exits 1 on the first failure.
import assert from "node:assert/strict";
import OpenAI from "openai";

const [scriptedUrl, storiesUrl, apiKey] = process.argv.slice(2);
const scripted = new OpenAI({ baseURL: scriptedUrl + "/v1", apiKey, maxRetries: 0, timeout: 60000 });
const stories = new OpenAI({ baseURL: storiesUrl + "/v1", apiKey, maxRetries: 0, timeout: 60000 });
const messages = [{ role: "user", content: "What is 2 + 2?" }];

async function check(name, fn) {
  try {
    await fn();
    console.log("ok - " + name);
  } catch (e) {
    console.log("not ok - " + name + ": " + (e && e.stack ? e.stack : e));
    process.exit(1);
  }
}

async function metric(url, sample) {
  const res = await fetch(url + "/metrics", { headers: { Authorization: "Bearer " + apiKey } });
  for (const line of (await res.text()).split("\n"))
    if (line.startsWith(sample + " ")) return Number(line.slice(sample.length + 1));
  return -1;
}

await check("models.list", async () => {
  const list = await scripted.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].object, "model");
});

await check("chat, one body: thinking split out, usage", async () => {
  const r = await scripted.chat.completions.create({ model: "scripted", messages });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.reasoning_content, "Let me think.");
  assert.equal(r.choices[0].message.content, "The answer is 4!");
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.usage.completion_tokens, 10);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 5);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 10);
  assert.equal(r.usage.rkv.method, "fullkv");
});

await check("chat, streamed: reasoning_content then content deltas, usage chunk", async () => {
  const stream = await scripted.chat.completions.create({
    model: "scripted", messages, stream: true, stream_options: { include_usage: true } });
  let reasoning = "", content = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    ++chunks;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      reasoning += c.delta.reasoning_content ?? "";
      content += c.delta.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(reasoning, "Let me think.");
  assert.equal(content, "The answer is 4!");
  assert.equal(finish, "stop");
  assert.ok(chunks > 3);
  assert.equal(usage.completion_tokens, 10);
  assert.equal(usage.completion_tokens_details.reasoning_tokens, 5);
});

await check("completions, one body and streamed", async () => {
  const r = await scripted.completions.create({ model: "scripted", prompt: "x", max_tokens: 3 });
  assert.equal(r.choices[0].text, "Let me think");
  assert.equal(r.choices[0].finish_reason, "length");
  const stream = await scripted.completions.create({ model: "scripted", prompt: "x", stream: true });
  let text = "";
  for await (const chunk of stream) for (const c of chunk.choices) text += c.text;
  assert.equal(text, "Let me think.</think>The answer is 4!");
});

await check("stop strings, streamed and not", async () => {
  const r = await scripted.chat.completions.create({ model: "scripted", messages, stop: ["answer is"] });
  assert.equal(r.choices[0].message.content, "The ");
  assert.equal(r.choices[0].finish_reason, "stop");
  const stream = await scripted.chat.completions.create({ model: "scripted", messages, stop: "answer is", stream: true });
  let content = "";
  for await (const chunk of stream) for (const c of chunk.choices) content += c.delta.content ?? "";
  assert.equal(content, "The ");
});

await check("n samples and per-request compression", async () => {
  const r = await stories.completions.create({ model: "stories", prompt: "Once upon a time", max_tokens: 40, n: 2,
                                              temperature: 1, seed: 3 });
  assert.equal(r.choices.length, 2);
  assert.notEqual(r.choices[0].text, r.choices[1].text);
  const c = await stories.completions.create({ model: "stories", prompt: "Once upon a time", max_tokens: 60,
                                              kv_compression: { method: "rkv", budget: 16, divide_length: 8 } });
  assert.equal(c.usage.rkv.method, "rkv");
  assert.equal(c.usage.rkv.budget, 16);
  assert.ok(c.usage.rkv.compressions > 0);
});

await check("errors: 400 naming the field, 401 without the key", async () => {
  await assert.rejects(scripted.chat.completions.create({ model: "scripted", messages, max_tokens: 0 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.status, 400);
    assert.equal(e.error.param, "max_tokens");
    return true;
  });
  await assert.rejects(scripted.chat.completions.create({ model: "scripted", messages: [] }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.error.param, "messages");
    return true;
  });
  await assert.rejects(scripted.chat.completions.create({ model: "scripted", messages, kv_compression: { method: "zip" } }),
                       (e) => e.status === 400 && e.error.param === "kv_compression" && /zip/.test(e.message));
  const anonymous = new OpenAI({ baseURL: scriptedUrl + "/v1", apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(anonymous.chat.completions.create({ model: "scripted", messages }),
                       (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

await check("cancel mid-stream: the server stops the sequence and frees its memory", async () => {
  const before = Math.max(0, await metric(storiesUrl, 'rkv_sequences_finished_total{reason="cancelled"}'));
  const stream = await stories.completions.create({ model: "stories", prompt: "Once upon a time", max_tokens: 2000,
                                                   ignore_eos: true, stream: true });
  let chunks = 0;
  for await (const chunk of stream) {
    if (++chunks === 3) break;  // leaving the loop aborts the request
  }
  let running = 1, cancelled = before;
  for (let i = 0; i < 100 && (running !== 0 || cancelled === before); ++i) {
    await new Promise((r) => setTimeout(r, 50));
    running = await metric(storiesUrl, "rkv_sequences_running");
    cancelled = await metric(storiesUrl, 'rkv_sequences_finished_total{reason="cancelled"}');
  }
  assert.equal(running, 0);
  assert.equal(cancelled, before + 1);
  assert.equal(await metric(storiesUrl, "rkv_kv_bytes_in_use"), 0);
});

console.log("all passed");
