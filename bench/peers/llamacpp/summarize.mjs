// The bookkeeping of scripts/bench-vs-llamacpp.sh (no llama.cpp involved):
//
//   --collect --engine rkv|llamacpp --model M --pair P --busy-before B --foreign F --bandwidth BPS
//             --rkv-json FILE --llamacpp-jsonl FILE
//       one JSON line per test of the run that just ended (records below)
//   --print-runs     records on stdin -> one readable line each
//   --table --cpu NAME --threads N
//       records on stdin -> per model a Markdown table: medians (min-max) of
//       both engines, rkv / llama.cpp, for decode the fraction of the
//       bandwidth limit (median bandwidth / weight bytes per token), and the
//       ratio of CPU seconds the two spent on the same work (a hint on a busy
//       machine, where wall times mostly measure the neighbours; spinning
//       threads count as busy)
//
// A record: {model, engine, pair, test: "tg128@0", tokens_per_s, cpu_seconds,
// busy_before, foreign, bandwidth, weight_bytes_per_token (rkv's records only)}.
import fs from "node:fs";

function parseArgs(argv) {
    const a = {};
    for (let i = 0; i < argv.length; i++) {
        const key = argv[i].replace(/^--/, "");
        if (["collect", "print-runs", "table"].includes(key)) a[key] = true;
        else a[key] = argv[++i];
    }
    return a;
}

function collect(a) {
    const common = {
        model: a.model, engine: a.engine, pair: Number(a.pair), busy_before: Number(a["busy-before"]),
        foreign: Number(a.foreign), bandwidth: Number(a.bandwidth)
    };
    const out = [];
    if (a.engine === "rkv") {
        for (const b of JSON.parse(fs.readFileSync(a["rkv-json"], "utf8")).benchmarks) {
            const test = b.name.split("/")[0];
            out.push({...common, test, tokens_per_s: b.items_per_second, cpu_seconds: b.cpu_seconds,
                weight_bytes_per_token: b.weight_bytes_per_token});
        }
    } else {
        for (const line of fs.readFileSync(a["llamacpp-jsonl"], "utf8").split("\n")) {
            if (!line.trim()) continue;
            const r = JSON.parse(line);
            if (r.cpu_variant) {
                common.cpu_variant = r.cpu_variant;
                continue;
            }
            out.push({...common, test: `${r.test}@${r.depth}`, tokens_per_s: r.tokens_per_s, cpu_seconds: r.cpu_seconds});
        }
    }
    for (const r of out) console.log(JSON.stringify(r));
}

function readRecords() {
    return fs.readFileSync(0, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const spread = (xs) => (xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : "");

function printRuns() {
    for (const r of readRecords()) {
        const variant = r.cpu_variant ? `, ${r.cpu_variant}` : "";
        console.log(`  ${r.engine.padEnd(8)} ${r.test.padEnd(12)} ${fmt(r.tokens_per_s).padStart(7)} tok/s` +
            `  (others kept ${r.foreign.toFixed(2)} CPUs busy meanwhile${variant})`);
    }
}

function table(a) {
    const records = readRecords();
    const models = [...new Set(records.map((r) => r.model))];
    for (const model of models) {
        const rs = records.filter((r) => r.model === model);
        const bytes = rs.find((r) => r.weight_bytes_per_token)?.weight_bytes_per_token ?? 0;
        const bw = median([...new Set(rs.map((r) => `${r.pair}:${r.bandwidth}`))].map((s) => Number(s.split(":")[1])));
        const pairs = Math.max(...rs.map((r) => r.pair));
        const foreign = rs.map((r) => r.foreign);
        const variant = rs.find((r) => r.cpu_variant)?.cpu_variant ?? "?";
        console.log(`### ${model}`);
        console.log();
        console.log(`${a.cpu}, ${a.threads} threads; medians of ${pairs} alternating pairs (min–max); ` +
            `llama.cpp: node-llama-cpp 3.21.1 prebuilt, ${variant}. Read bandwidth (bench_machine, ${a.threads} threads): ` +
            `${(bw / 1e9).toFixed(1)} GB/s; weights read per decoded token: ${(bytes / 1e9).toFixed(2)} GB. ` +
            `Other processes kept ${fmt(median(foreign))} CPUs busy during the runs (max ${fmt(Math.max(...foreign))}).`);
        console.log();
        console.log("| test | rkv tok/s | llama.cpp tok/s | rkv / llama.cpp | rkv decode ÷ bandwidth limit | llama.cpp ÷ limit | rkv / llama.cpp per CPU-second |");
        console.log("|---|---|---|---|---|---|---|");
        for (const test of [...new Set(rs.map((r) => r.test))]) {
            const of = (engine) => rs.filter((r) => r.test === test && r.engine === engine).map((r) => r.tokens_per_s);
            const cpu = (engine) => median(rs.filter((r) => r.test === test && r.engine === engine).map((r) => r.cpu_seconds ?? NaN));
            const k = of("rkv"), l = of("llamacpp");
            if (!k.length || !l.length) continue;
            const mk = median(k), ml = median(l);
            const limit = test.startsWith("tg") && bytes > 0 && bw > 0 ? bw / bytes : 0;
            const frac = (x) => (limit ? `${(x / limit).toFixed(2)}` : "");
            console.log(`| ${test} | ${fmt(mk)}${spread(k)} | ${fmt(ml)}${spread(l)} | **${(mk / ml).toFixed(2)}** | ` +
                `${frac(mk)} | ${frac(ml)} | ${(cpu("llamacpp") / cpu("rkv")).toFixed(2)} |`);
        }
        console.log();
    }
}

const args = parseArgs(process.argv.slice(2));
if (args.collect) collect(args);
else if (args["print-runs"]) printRuns();
else if (args.table) table(args);
else {
    console.error("summarize.mjs: --collect, --print-runs or --table");
    process.exit(2);
}
