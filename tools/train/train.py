#!/usr/bin/python3
"""Trains rkv's reasoning model on the variable-chain task and exports it as a
Hugging Face folder. CPU, PyTorch 1.13 (Debian's python3-torch), bf16 autocast.

Seeded: the same arguments give the same data stream, the same initial weights
and (on the same machine and thread count) the same run. The loss log is a TSV
file; the validation columns are teacher-forced on held-out problems:
tok_acc = argmax accuracy over the chain's tokens, exact = fraction of
problems whose whole chain and answer are argmax-correct (exactly the ones
greedy decoding reproduces token for token), answer = the boxed digit right."""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reasoning_task"))

import export  # noqa: E402
import generate  # noqa: E402
import task  # noqa: E402
from model import Config, LlamaLM  # noqa: E402

VALID_SEED = 424242


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--log", required=True, help="loss log (TSV)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-tokens", type=int, default=4096, help="tokens per step, padding included")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.02)
    ap.add_argument("--decay", type=float, default=0.25, help="final fraction of the run with a linearly decaying LR")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=704)
    ap.add_argument("--vocab", type=int, default=448, help="embedding rows (>= the tokenizer's size)")
    ap.add_argument("--min-vars", type=int, default=4)
    ap.add_argument("--max-vars", type=int, default=24)
    ap.add_argument("--max-ops", type=int, default=1, help="operations per definition: 1..max-ops")
    ap.add_argument("--start-vars", type=int, default=6, help="max variables at step 0 (curriculum)")
    ap.add_argument("--curriculum", type=float, default=0.4, help="fraction of steps to reach --max-vars")
    ap.add_argument("--raw-prompts", type=float, default=0.1, help="fraction of examples in the R-KV raw prompt")
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--valid", type=int, default=48, help="held-out problems for the validation columns")
    ap.add_argument("--threads", type=int, default=1, help="1 is fastest on a busy 2-core machine (OpenMP barriers stall when a thread is descheduled)")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="minutes: if the run is on course to overrun it, the LR decay starts early and ends at the limit "
                    "(fewer steps, logged); 0 = off")
    ap.add_argument("--init", help="start from this model folder's safetensors instead of random weights")
    return ap.parse_args()


class Examples:
    """Deterministic stream of tokenized training examples."""

    def __init__(self, seed, tok, exclude, raw_fraction):
        self.rng = task.Rng(seed)
        self.tok = tok
        self.exclude = exclude
        self.raw_per_mille = int(round(raw_fraction * 1000))

    def next(self, params):
        while True:
            ex = task.make_problem(self.rng, params)
            if ex["problem"] not in self.exclude:
                break
        if self.rng.below(1000) < self.raw_per_mille:
            style = "raw"
        else:
            style = ("chat", "chat_r1")[self.rng.below(2)]
        prompt = self.tok.encode(task.prompt_text(ex["problem"], style))
        completion = self.tok.encode(task.completion_text(ex, style))
        return prompt + completion, len(prompt)


def make_batches(examples, batch_tokens, rng):
    """Length-sorted batches within the pool (little padding), in shuffled order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    batches, cur = [], []
    for i in order:
        longest = len(examples[i][0])  # sorted: the newest is the longest
        if cur and (len(cur) + 1) * longest > batch_tokens:
            batches.append(cur)
            cur = []
        cur.append(examples[i])
    if cur:
        batches.append(cur)
    for k in range(len(batches) - 1, 0, -1):  # Fisher-Yates with the task's generator
        j = rng.below(k + 1)
        batches[k], batches[j] = batches[j], batches[k]
    return batches


def collate(batch, pad_id):
    """ids [b][n], targets [b][n-1] with -100 outside the completion."""
    n = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), n), pad_id, dtype=torch.long)
    targets = torch.full((len(batch), n - 1), -100, dtype=torch.long)
    for r, (seq, n_prompt) in enumerate(batch):
        ids[r, :len(seq)] = torch.tensor(seq)
        t = torch.tensor(seq[1:])
        targets[r, n_prompt - 1:len(seq) - 1] = t[n_prompt - 1:]
    return ids, targets


class Schedule:
    """Warm-up, constant LR, then linear decay over the last `decay` fraction.

    With a time limit, the decay starts early if the steps left would not fit
    in the time left (projected from the rate so far): the run then ends at
    the limit, annealed, with fewer steps (the log says so). Without one (or
    on a machine fast enough) the schedule depends on the step only."""

    def __init__(self, a):
        self.a = a
        self.end = a.steps  # the step the run ends at
        self.decay_start = int(a.steps * (1 - a.decay))

    def update(self, step, minutes):
        a = self.a
        if not a.time_limit or step < 20 or step >= self.decay_start:
            return
        per_step = minutes / step
        projected_end = minutes + per_step * (a.steps - step)
        if projected_end > a.time_limit:
            decay_time = a.time_limit * a.decay
            if minutes + decay_time >= a.time_limit:
                self.decay_start = step
                self.end = step + max(1, int((a.time_limit - minutes) / per_step))

    def lr(self, step):
        a = self.a
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        if step < self.decay_start:
            return a.lr
        frac = (step - self.decay_start) / max(1, self.end - self.decay_start)
        return a.lr * (a.min_lr_ratio + (1 - a.min_lr_ratio) * max(0.0, 1 - frac))


def vars_at(step, a):
    reach = max(1, int(a.curriculum * a.steps))
    if step >= reach:
        return a.max_vars
    return a.start_vars + (a.max_vars - a.start_vars) * step // reach


@torch.no_grad()
def validate(model, valid, pad_id):
    model.eval()
    correct = total = exact = answer_ok = 0
    for i in range(0, len(valid), 8):
        batch = valid[i:i + 8]
        ids, targets = collate(batch, pad_id)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(ids[:, :-1])
        pred = logits.float().argmax(-1)
        mask = targets != -100
        ok = (pred == targets) | ~mask
        correct += int(((pred == targets) & mask).sum())
        total += int(mask.sum())
        exact += int(ok.all(dim=1).sum())
        for r, (seq, _) in enumerate(batch):
            # the answer digit: the token after "{" of the last \boxed{
            k = len(seq) - 1
            while seq[k] != valid_boxed_digit_anchor[0]:
                k -= 1
            answer_ok += int(pred[r, k] == targets[r, k])
    model.train()
    return correct / total, exact / len(valid), answer_ok / len(valid)


valid_boxed_digit_anchor = [None]  # the id of "{" (set in main)


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    tok = generate.build_tokenizer()
    assert tok.size <= a.vocab, f"vocabulary {tok.size} > --vocab {a.vocab}"
    valid_boxed_digit_anchor[0] = tok.encode("{")[0]
    pad_id = tok.added[task.EOS]
    test = {ex["problem"] for ex in generate.take(generate.TEST_SEED, 500)}
    valid_rows = []
    for ex in task.problem_stream(VALID_SEED, task.Params(min_vars=min(6, a.max_vars), max_vars=a.max_vars, max_ops=a.max_ops)):
        if ex["problem"] not in test:
            valid_rows.append(ex)
        if len(valid_rows) == a.valid:
            break
    valid = []
    for k, ex in enumerate(valid_rows):
        style = ("chat", "chat_r1")[k % 2]
        p = tok.encode(task.prompt_text(ex["problem"], style))
        valid.append((p + tok.encode(task.completion_text(ex, style)), len(p)))
    exclude = test | {ex["problem"] for ex in valid_rows}

    cfg = Config(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
                 num_attention_heads=a.heads, num_key_value_heads=a.heads)
    model = LlamaLM(cfg)
    if a.init:
        state = export.load_safetensors(os.path.join(a.init, "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in state.items()})
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    stream = Examples(a.seed, tok, exclude, a.raw_prompts)
    batch_rng = task.Rng(a.seed * 7919 + 17)
    os.makedirs(os.path.dirname(os.path.abspath(a.log)), exist_ok=True)
    log = open(a.log, "w")
    header = {"args": vars(a), "params": model.n_params(), "vocab": tok.size, "torch": torch.__version__,
              "threads": torch.get_num_threads()}
    log.write("# " + json.dumps(header) + "\n")
    log.write("step\ttokens\tminutes\tloss\tlr\tmax_vars\tvalid_tok_acc\tvalid_exact\tvalid_answer\n")
    log.flush()
    print(json.dumps(header), flush=True)

    pending = []
    tokens = 0
    start = time.time()
    loss_sum, loss_n = 0.0, 0
    stopped_early = False
    schedule = Schedule(a)
    for step in range(a.steps):
        schedule.update(step, (time.time() - start) / 60)
        if not pending:
            mv = vars_at(step, a)
            params = task.Params(min_vars=min(a.min_vars, mv), max_vars=mv, max_ops=a.max_ops)
            pool = [stream.next(params) for _ in range(64)]
            pending = make_batches(pool, a.batch_tokens, batch_rng)
        batch = pending.pop()
        ids, targets = collate(batch, pad_id)
        for g in opt.param_groups:
            g["lr"] = schedule.lr(step)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, cfg.vocab_size), targets.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += ids.numel()
        loss_sum += float(loss)
        loss_n += 1
        last = step == schedule.end - 1
        minutes = (time.time() - start) / 60
        stopped_early = schedule.end < a.steps
        if (step + 1) % 20 == 0 or last or (step + 1) % a.eval_every == 0:
            cols = [step + 1, tokens, f"{minutes:.2f}", f"{loss_sum / loss_n:.4f}", f"{schedule.lr(step):.2e}", vars_at(step, a)]
            if (step + 1) % a.eval_every == 0 or last:
                acc, exact, ans = validate(model, valid, pad_id)
                cols += [f"{acc:.4f}", f"{exact:.3f}", f"{ans:.3f}"]
                export.export(model, tok, a.out)
            else:
                cols += ["", "", ""]
            line = "\t".join(str(c) for c in cols)
            log.write(line + "\n")
            log.flush()
            print(line, flush=True)
            loss_sum, loss_n = 0.0, 0
        if last:
            break
    if stopped_early:
        log.write(f"# time limit {a.time_limit} min: LR decay started at step {schedule.decay_start}, "
                  f"ended after {step + 1} of {a.steps} steps\n")
    log.write(f"# done in {(time.time() - start) / 60:.1f} min, {tokens} tokens\n")
    log.close()
    export.export(model, tok, a.out)


if __name__ == "__main__":
    main()
