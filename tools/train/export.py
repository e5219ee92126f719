"""Writes a trained LlamaLM as a Hugging Face model folder: config.json,
model.safetensors (bf16 or f32), generation_config.json and the tokenizer
files of the task."""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reasoning_task"))

import bpe  # noqa: E402


def rounded_state(model, dtype):
    """The weights as they are stored: cast to `dtype` (bf16 rounds to nearest even)."""
    return {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}


def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: 8-byte header length, JSON header, raw data."""
    names = sorted(tensors)
    header = {}
    offset = 0
    blobs = []
    dtype_names = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
    for name in names:
        t = tensors[name].contiguous()
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {"dtype": dtype_names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)  # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def hf_config(cfg, tok):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "vocab_size": cfg.vocab_size,
        "bos_token_id": tok.added[bpe.BOS],
        "eos_token_id": tok.added[bpe.EOS],
        "torch_dtype": "bfloat16",
    }


def export(model, tok, out_dir, dtype=torch.bfloat16):
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "model.safetensors"), rounded_state(model, dtype), {"format": "pt"})
    bpe.write_json(os.path.join(out_dir, "config.json"), hf_config(model.cfg, tok))
    bpe.write_json(os.path.join(out_dir, "generation_config.json"),
                   {"bos_token_id": tok.added[bpe.BOS], "eos_token_id": tok.added[bpe.EOS], "do_sample": False})
    bpe.write_json(os.path.join(out_dir, "tokenizer.json"), tok.to_json())
    bpe.write_json(os.path.join(out_dir, "tokenizer_config.json"), bpe.tokenizer_config())


def load_safetensors(path):
    """name -> tensor (f32, bf16 or f16) of a safetensors file."""
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        raw = data[lo:hi]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16)
        elif info["dtype"] == "F16":
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.float16).copy())
        else:
            assert info["dtype"] == "F32", info["dtype"]
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
        out[name] = t.reshape(info["shape"])
    return out


def load_model(folder):
    """A LlamaLM with the folder's weights (in f32) and config."""
    from model import Config, LlamaLM
    c = json.load(open(os.path.join(folder, "config.json")))
    cfg = Config(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
                 num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                 num_key_value_heads=c["num_key_value_heads"], rms_norm_eps=c["rms_norm_eps"],
                 rope_theta=c["rope_theta"], max_position_embeddings=c["max_position_embeddings"])
    model = LlamaLM(cfg)
    state = load_safetensors(os.path.join(folder, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
