"""PyTorch eager forward pass of a pref builder encoder (buildEncoderClassifier), for benchmarks/int8-peers.

Run by bench.ts with Debian's interpreter (python3-torch 1.13, python3-onnx, python3-numpy; torch's
BLAS is libblas.so.3, which Debian's alternatives point at OpenBLAS pthread):

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 torch_eager.py MODEL.onnx SEQUENCES.json THREADS OUT.json

The weights are read from the ONNX file by name (onnx.numpy_helper); the forward pass is written here
in plain torch ops from the architecture (BERT post-LayerNorm encoder, exact GELU, additive padding
mask (1 - mask) * -1e9, tanh pooler on the first token, linear head), not translated from pref's code.
SEQUENCES.json: {"sequences": [{"ids": [...], "typeIds": [...]}, ...], "batches": [[index, ...], ...],
"layers": L, "heads": H}. Runs one warm-up batch, then times one pass over all batches and writes
{"seconds": s, "scores": [one per sequence], ...} to OUT.json. OMP_WAIT_POLICY=PASSIVE (set by bench.ts)
keeps OpenMP's idle threads from spinning, as pref's sessions do (allow_spinning 0): on the shared
2-core machine, spinning made 2 threads 18x slower than 1 (56 s against 3.2 s for the same pass).
"""
import json
import math
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

model_path, sequences_path, threads, out_path = sys.argv[1:5]
torch.set_num_threads(int(threads))
torch.set_grad_enabled(False)

weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(model_path).graph.initializer}
spec = json.load(open(sequences_path))
layers, heads = spec["layers"], spec["heads"]


def layer_norm(x, name):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weights[name + ".weight"], weights[name + ".bias"], 1e-12)


def linear(x, name):
    return torch.addmm(weights[name + ".bias"], x.reshape(-1, x.shape[-1]), weights[name + ".weight"]).reshape(*x.shape[:-1], -1)


def forward(ids, type_ids, mask):
    batch, seq = ids.shape
    x = weights["embeddings.word_embeddings.weight"][ids] + weights["embeddings.position_embeddings.weight"][:seq].unsqueeze(0)
    x = x + weights["embeddings.token_type_embeddings.weight"][type_ids]
    x = layer_norm(x, "embeddings.LayerNorm")
    hidden = x.shape[-1]
    head_dim = hidden // heads
    bias = ((1.0 - mask.float()) * -1e9)[:, None, None, :]
    for layer in range(layers):
        name = f"encoder.layer.{layer}"

        def split(t):
            return t.view(batch, seq, heads, head_dim).transpose(1, 2)

        q = split(linear(x, f"{name}.attention.query"))
        k = split(linear(x, f"{name}.attention.key"))
        v = split(linear(x, f"{name}.attention.value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(head_dim) + bias
        context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(batch, seq, hidden)
        x = layer_norm(linear(context, f"{name}.attention.output") + x, f"{name}.attention.LayerNorm")
        up = torch.nn.functional.gelu(linear(x, f"{name}.intermediate"))
        x = layer_norm(linear(up, f"{name}.output") + x, f"{name}.output.LayerNorm")
    pooled = torch.tanh(linear(x[:, 0], "pooler.dense"))
    return linear(pooled, "classifier")[:, 0]


def padded(batch):
    rows = [spec["sequences"][i] for i in batch]
    width = max(len(r["ids"]) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    type_ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for r, row in enumerate(rows):
        n = len(row["ids"])
        ids[r, :n] = torch.tensor(row["ids"])
        type_ids[r, :n] = torch.tensor(row["typeIds"])
        mask[r, :n] = 1
    return ids, type_ids, mask


# Tensors are built before timing, as the raw session.run baseline of benchmarks/scoring does.
inputs = [padded(b) for b in spec["batches"]]
forward(*inputs[0])
start = time.perf_counter()
outputs = [forward(*feed) for feed in inputs]
seconds = time.perf_counter() - start
scores = [0.0] * len(spec["sequences"])
for batch, out in zip(spec["batches"], outputs):
    for i, s in zip(batch, out.tolist()):
        scores[i] = s
json.dump({"seconds": seconds, "scores": scores, "torch": torch.__version__, "threads": torch.get_num_threads()}, open(out_path, "w"))
