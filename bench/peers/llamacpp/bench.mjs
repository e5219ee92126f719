// llama.cpp's side of scripts/bench-vs-llamacpp.sh: llama-bench's pp / tg
// measurements driven through node-llama-cpp's prebuilt CPU binaries.
//
//   node bench.mjs --model M.gguf --tokens ids.txt --threads 2 --test pp512@0 --test tg128@4096 ...
//
// Each --test is pp<N>@<depth> (N prompt tokens in batches of 512 after
// `depth` cached tokens) or tg<N>@<depth> (N single-token decode steps after
// `depth` cached tokens), timed like llama-bench: a fresh cache, the depth
// tokens evaluated untimed, then the timed part; logits for the last token
// of every decode call. The token ids come from --tokens (whitespace-
// separated, the same file rkv's bench_model reads), so both engines see the
// same input. Prints one JSON line per test: {"test","depth","n","seconds",
// "cpu_seconds" (all threads of the process), "tokens_per_s"}.
//
//   node bench.mjs --check          (do the prebuilt binaries load here?)
//   node bench.mjs --make-tokens ids.txt --count 8832 --model M.gguf
// writes the token file (ids below the model's vocabulary size).
//
// At run time only the installed prebuilt binaries are used: no download, no
// source build (getLlama build:"never", skipDownload).
import fs from "node:fs";
import {getLlama, LlamaLogLevel, readGgufFileInfo} from "node-llama-cpp";

function parseArgs(argv) {
    const args = {tests: [], threads: 2, kvType: "F16", flashAttention: true};
    for (let i = 0; i < argv.length; i++) {
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
            return argv[++i];
        };
        switch (argv[i]) {
            case "--model": args.model = next(); break;
            case "--tokens": args.tokens = next(); break;
            case "--threads": args.threads = Number(next()); break;
            case "--test": args.tests.push(next()); break;
            case "--kv-type": args.kvType = next(); break;
            case "--no-flash-attention": args.flashAttention = false; break;
            case "--check": args.check = true; break;
            case "--make-tokens": args.makeTokens = next(); break;
            case "--count": args.count = Number(next()); break;
            default: throw new Error(`unknown argument ${argv[i]}`);
        }
    }
    if (args.check || (args.makeTokens && args.model && args.count > 0)) return args;
    if (!args.model || !args.tokens || args.tests.length === 0)
        throw new Error("usage: node bench.mjs --model M.gguf --tokens ids.txt [--threads N] --test pp512@0 ...");
    return args;
}

function parseTest(spec) {
    const m = /^(pp|tg)(\d+)@(\d+)$/.exec(spec);
    if (!m) throw new Error(`--test ${spec}: expected pp<N>@<depth> or tg<N>@<depth>`);
    return {kind: m[1], n: Number(m[2]), depth: Number(m[3])};
}

const kUbatch = 512;

// Evaluates ids[from, to) at positions from.. in batches of kUbatch; logits
// only for the last token of the last batch (what llama-bench asks for).
async function decodeRange(ctx, ids, from, to, wantLogits) {
    for (let b = from; b < to; b += kUbatch) {
        const e = Math.min(to, b + kUbatch);
        ctx.initBatch(e - b);
        const logitIdx = wantLogits && e === to ? Uint32Array.from([e - b - 1]) : new Uint32Array(0);
        ctx.addToBatch(0, b, Uint32Array.from(ids.slice(b, e)), logitIdx);
        await ctx.decodeBatch();
    }
}

async function runTest(llama, model, ids, threads, test, opts) {
    const total = test.depth + test.n;
    if (ids.length < total) throw new Error(`--tokens: ${ids.length} ids, ${total} needed for ${test.kind}${test.n}@${test.depth}`);
    const context = await model.createContext({
        contextSize: Math.ceil((total + 1) / 256) * 256,
        batchSize: kUbatch,
        sequences: 1,
        threads: {ideal: threads, min: threads},
        flashAttention: opts.flashAttention,
        experimentalKvCacheKeyType: opts.kvType,
        experimentalKvCacheValueType: opts.kvType,
    });
    try {
        // node-llama-cpp's LlamaContext queues and batches evaluations; the
        // benchmark drives its llama_context directly for llama-bench's exact
        // call pattern (the package version is pinned).
        const ctx = context._ctx;
        context.getSequence();
        // warm-up as llama-bench does (and as rkv's bench_model does): a short prefill and one decode step
        const warm = Math.min(33, total);
        await decodeRange(ctx, ids, 0, warm - 1, true);
        await decodeRange(ctx, ids, warm - 1, warm, true);
        if (!ctx.removeTokenCellsFromSequence(0, 0, warm)) throw new Error("could not clear the warm-up tokens from the cache");
        await decodeRange(ctx, ids, 0, test.depth, false);
        const t0 = process.hrtime.bigint(), cpu0 = process.cpuUsage();
        if (test.kind === "pp") {
            await decodeRange(ctx, ids, test.depth, total, true);
        } else {
            for (let p = test.depth; p < total; ++p) await decodeRange(ctx, ids, p, p + 1, true);
        }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(cpu0), cpu_seconds = (cpu.user + cpu.system) / 1e6;
        return {test: `${test.kind}${test.n}`, depth: test.depth, n: test.n, seconds, cpu_seconds, tokens_per_s: test.n / seconds};
    } finally {
        await context.dispose();
    }
}

// --make-tokens FILE --count N --model M: N pseudo-random ids below M's
// vocabulary size (a fixed 32-bit LCG, so every run uses the same ids).
async function makeTokens(args) {
    const info = await readGgufFileInfo(args.model, {readTensorInfo: false});
    const vocab = info.metadata?.tokenizer?.ggml?.tokens?.length;
    if (!vocab) throw new Error(`${args.model}: no tokenizer.ggml.tokens in the GGUF metadata`);
    const ids = [];
    let s = 12345;
    for (let i = 0; i < args.count; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        ids.push(Math.floor(s / 2 ** 32 * vocab));
    }
    fs.writeFileSync(args.makeTokens, ids.join(" ") + "\n");
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    if (args.makeTokens) return makeTokens(args);
    if (args.check) {  // install.sh: do the prebuilt binaries load on this machine?
        const llama = await getLlama({gpu: false, build: "never", skipDownload: true});
        console.log(`llama.cpp peer ready: prebuilt binaries, llama.cpp ${llama.llamaCppRelease.release}`);
        return llama.dispose();
    }
    const ids = fs.readFileSync(args.tokens, "utf8").trim().split(/\s+/).map(Number);
    const llama = await getLlama({
        gpu: false,
        build: "never",
        skipDownload: true,
        maxThreads: args.threads,
        logLevel: LlamaLogLevel.error,
    });
    const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, useMmap: true});
    // which of the prebuilt CPU variants ggml picked for this CPU
    const variants = new Set(fs.readFileSync("/proc/self/maps", "utf8").match(/libggml-cpu-[\w-]+\.so/g) ?? []);
    console.log(JSON.stringify({cpu_variant: [...variants].join(",") || "unknown"}));
    for (const spec of args.tests) {
        const r = await runTest(llama, model, ids, args.threads, parseTest(spec), args);
        console.log(JSON.stringify(r));
    }
    await model.dispose();
    await llama.dispose();
}

main().catch((err) => {
    console.error(`bench.mjs: ${err.message}`);
    process.exit(2);
});
