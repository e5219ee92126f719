"""A byte-level BPE tokenizer for the reasoning task, written as a Hugging Face
tokenizer.json, and the matching encoder in Python (used to build the training
data; rkv's tokenizer must give the same ids, which tools/train checks).

The vocabulary is learned by plain BPE training on the task's own texts until
every pre-token (GPT-2 split: words with their leading space, digits,
punctuation runs, newlines) of the corpus is one token: "Ġis", "Ġ7", ".",
"Ċ", ... The 256 byte symbols stay in the vocabulary, so any text encodes.
The chat markup of DeepSeek-R1 (<｜begin▁of▁sentence｜>, <｜User｜>, ...) and
<think> / </think> are added tokens, as in the R1 tokenizers."""
import json

import regex

from task import ASSISTANT, BOS, END_THINK, EOS, THINK, USER

# GPT-2's pre-tokenizer pattern (what ByteLevel with use_regex applies).
GPT2_SPLIT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

# (content, special): special tokens are dropped by decode(skip_special_tokens);
# <think> / </think> are not special in R1's tokenizer, so they show in the text.
ADDED_TOKENS = [(BOS, True), (EOS, True), (USER, True), (ASSISTANT, True), (THINK, False), (END_THINK, False)]


def byte_symbols():
    """byte -> printable symbol, GPT-2's ByteLevel mapping."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_SYMBOLS = byte_symbols()


def to_symbols(piece):
    return "".join(BYTE_SYMBOLS[b] for b in piece.encode("utf-8"))


def split_added(text):
    """[(segment, is_added)] with added tokens split out (longest match first)."""
    contents = sorted((c for c, _ in ADDED_TOKENS), key=len, reverse=True)
    pattern = regex.compile("|".join(regex.escape(c) for c in contents))
    out = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def train(texts):
    """Merges learned until every pre-token of `texts` is a single token.

    Ties between equally frequent pairs go to the lexicographically smallest
    pair, so the result depends only on the texts."""
    words = {}
    for text in texts:
        for segment, added in split_added(text):
            if added:
                continue
            for piece in GPT2_SPLIT.findall(segment):
                key = tuple(to_symbols(piece))
                words[key] = words.get(key, 0) + 1
    merges = []
    while True:
        pairs = {}
        for w, f in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + f
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        merged = best[0] + best[1]
        new_words = {}
        for w, f in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            key = tuple(out)
            new_words[key] = new_words.get(key, 0) + f
        words = new_words
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.rank = {m: i for i, m in enumerate(self.merges)}
        vocab = {}
        for b in range(256):
            vocab[BYTE_SYMBOLS[b]] = len(vocab)
        for a, b in self.merges:
            vocab.setdefault(a + b, len(vocab))
        self.vocab = vocab
        self.added = {}
        for content, _ in ADDED_TOKENS:
            self.added[content] = len(vocab) + len(self.added)
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.id_to_token.update({i: c for c, i in self.added.items()})
        self.cache = {}
        inverse = {s: b for b, s in BYTE_SYMBOLS.items()}
        self.symbol_bytes = inverse

    @property
    def size(self):
        return len(self.vocab) + len(self.added)

    def bpe(self, symbols):
        parts = list(symbols)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.rank.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        return parts

    def encode(self, text):
        ids = []
        for segment, added in split_added(text):
            if added:
                ids.append(self.added[segment])
                continue
            for piece in GPT2_SPLIT.findall(segment):
                cached = self.cache.get(piece)
                if cached is None:
                    cached = [self.vocab[p] for p in self.bpe(to_symbols(piece))]
                    self.cache[piece] = cached
                ids.extend(cached)
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if tok in self.added:
                out += tok.encode("utf-8")
            else:
                out += bytes(self.symbol_bytes[s] for s in tok)
        return out.decode("utf-8", errors="replace")

    def to_json(self):
        """tokenizer.json in the Hugging Face `tokenizers` layout."""
        added = [{"id": self.added[c], "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": special} for c, special in ADDED_TOKENS]
        bos_id = self.added[BOS]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {BOS: {"id": BOS, "ids": [bos_id], "tokens": [BOS]}},
            },
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": self.vocab,
                "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }


# The chat template: DeepSeek-R1's layout (BOS, optional system text, <｜User｜>
# turns, <｜Assistant｜> turns closed by EOS), reduced to what this model knows;
# the generation prompt opens the chain of thought with "<think>\n".
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'system' %}{{ message['content'] }}"
    "{%- elif message['role'] == 'user' %}{{ '<\uff5cUser\uff5c>' + message['content'] }}"
    "{%- elif message['role'] == 'assistant' %}{{ '<\uff5cAssistant\uff5c>' + message['content'] + eos_token }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<\uff5cAssistant\uff5c><think>\\n' }}{%- endif %}"
)


def tokenizer_config():
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": EOS,
        "clean_up_tokenization_spaces": False,
        "legacy": False,
        "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
