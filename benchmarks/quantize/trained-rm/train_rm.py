"""Trains a small transformer reward model on pref's embedded preference data, for the quantization
benchmark (ranking agreement of int8 against float32 needs a model whose margins mean something).

Run with Debian's interpreter (python3-torch 1.13, python3-onnx 1.12, python3-numpy) from the repo root:
    /usr/bin/python3 benchmarks/quantize/trained-rm/train_rm.py
It writes model.onnx, config.json, tokenizer.json, tokenizer_config.json, split.json (which pairs were
held out), reference.json (PyTorch scores of the held-out pairs, for the cross-check in the benchmark)
and training-log.txt beside this file. About 4-6 minutes on one core (5 epochs).

Data: packages/synthetic/data/truthy-sample.jsonl (260 pairs). Every fifth pair (0-based index % 5 == 0)
is held out, with the 35 curated pairs (packages/synthetic/data/curated.jsonl, a different kind of pair,
never trained on); the other 208 truthy pairs are trained on.

Tokenizer: the WordPiece tokenizer of packages/reward-scoring/fixtures/tiny-bert (a real Hugging Face
tokenizer.json: BertNormalizer, BertPreTokenizer, WordPiece, [CLS] A [SEP] B [SEP] with type ids), through
the independent Python implementation in that fixture's make_fixture.py. The input is scorePairs' `pair`
format: A = system + "\\n" + prompt (or the prompt alone), B = the response.

Model: a BERT-style encoder written here in plain torch (word + position + token-type embeddings,
LayerNorm, 4 post-LN layers of 4-head self-attention and a GELU feed-forward, hidden 128, FFN 512,
tanh pooler on [CLS], one logit), trained with the Bradley-Terry loss -log sigmoid(s_chosen - s_rejected)
(AdamW, dropout 0.1), exported by torch.onnx.export (opset 14, dynamic batch and sequence axes).
"""
import importlib.util
import json
import math
import os
import random
import shutil
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FIXTURE = os.path.join(ROOT, "packages", "reward-scoring", "fixtures", "tiny-bert")
DATA = os.path.join(ROOT, "packages", "synthetic", "data")

spec = importlib.util.spec_from_file_location("tiny_bert_fixture", os.path.join(FIXTURE, "make_fixture.py"))
fixture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixture)

HIDDEN, LAYERS, HEADS, INTERMEDIATE, MAX_POS, TYPES = 128, 4, 4, 512, 512, 2
# A fixed number of epochs (not a time limit), so the model does not depend on the machine's speed.
EPOCHS, BATCH, LR, SEED = 5, 16, 5e-4, 20261201

torch.manual_seed(SEED)
random.seed(SEED)
torch.set_num_threads(1)


def read_jsonl(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def encode(pair, side):
    system = pair.get("system")
    first = f"{system}\n{pair['prompt']}" if system else pair["prompt"]
    ids, types = fixture.encode_pair(first, pair[side], max_length=MAX_POS)
    return ids, types


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query, self.key, self.value, self.output = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, HIDDEN // HEADS).transpose(1, 2)

    def forward(self, x, bias):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias
        context = self.dropout(torch.softmax(scores, dim=-1)) @ v
        b, _, s, _ = context.shape
        context = context.transpose(1, 2).reshape(b, s, HIDDEN)
        return self.norm(self.dropout(self.output(context)) + x)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = nn.Linear(HIDDEN, INTERMEDIATE)
        self.output = nn.Linear(INTERMEDIATE, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, bias):
        x = self.attention(x, bias)
        return self.norm(self.dropout(self.output(nn.functional.gelu(self.intermediate(x)))) + x)


class RewardEncoder(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.word = nn.Embedding(vocab_size, HIDDEN)
        self.position = nn.Embedding(MAX_POS, HIDDEN)
        self.token_type = nn.Embedding(TYPES, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.dropout = nn.Dropout(0.1)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, 1)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)
                if isinstance(module, nn.Linear):
                    nn.init.zeros_(module.bias)

    def forward(self, input_ids, attention_mask, token_type_ids):
        seq = input_ids.shape[1]
        positions = torch.arange(seq, device=input_ids.device).unsqueeze(0)
        x = self.dropout(self.norm(self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids)))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(pooled)


def batch_tensors(encoded):
    longest = max(len(ids) for ids, _ in encoded)
    ids = torch.zeros(len(encoded), longest, dtype=torch.long)
    types = torch.zeros(len(encoded), longest, dtype=torch.long)
    mask = torch.zeros(len(encoded), longest, dtype=torch.long)
    for row, (i, t) in enumerate(encoded):
        ids[row, : len(i)] = torch.tensor(i)
        types[row, : len(t)] = torch.tensor(t)
        mask[row, : len(i)] = 1
    return ids, mask, types


def scores_of(model, encoded):
    ids, mask, types = batch_tensors(encoded)
    return model(ids, mask, types)[:, 0]


def evaluate(model, pairs):
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), 32):
            chunk = pairs[start : start + 32]
            chosen = scores_of(model, [encode(p, "chosen") for p in chunk])
            rejected = scores_of(model, [encode(p, "rejected") for p in chunk])
            out += list(zip(chosen.tolist(), rejected.tolist()))
    accuracy = sum(1 for c, r in out if c > r) / len(out)
    return out, accuracy


def main():
    truthy = read_jsonl("truthy-sample.jsonl")
    curated = read_jsonl("curated.jsonl")
    train = [p for i, p in enumerate(truthy) if i % 5 != 0]
    held_out = [p for i, p in enumerate(truthy) if i % 5 == 0]
    model = RewardEncoder(len(fixture.vocab))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    encoded = [(encode(p, "chosen"), encode(p, "rejected")) for p in train]
    log = []
    started = time.time()
    steps = EPOCHS * math.ceil(len(train) / BATCH)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 20) * max(0.0, 1 - step / steps))
    for epoch in range(EPOCHS):
        model.train()
        order = list(range(len(train)))
        random.shuffle(order)
        total = 0.0
        for start in range(0, len(order), BATCH):
            rows = [encoded[i] for i in order[start : start + BATCH]]
            chosen = scores_of(model, [c for c, _ in rows])
            rejected = scores_of(model, [r for _, r in rows])
            loss = -nn.functional.logsigmoid(chosen - rejected).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(rows)
        _, train_acc = evaluate(model, train)
        _, held_acc = evaluate(model, held_out)
        _, curated_acc = evaluate(model, curated)
        line = (f"epoch {epoch + 1}: train loss {total / len(train):.4f}, train acc {train_acc:.3f}, "
                f"held-out truthy acc {held_acc:.3f}, curated acc {curated_acc:.3f}, {time.time() - started:.0f} s")
        print(line, flush=True)
        log.append(line)

    model.eval()
    example = encode(held_out[0], "chosen")
    ids = torch.tensor([example[0]])
    torch.onnx.export(
        model,
        (ids, torch.ones_like(ids), torch.tensor([example[1]])),
        os.path.join(HERE, "model.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["logits"],
        dynamic_axes={name: {0: "batch", 1: "sequence"} for name in ["input_ids", "attention_mask", "token_type_ids"]}
        | {"logits": {0: "batch"}},
        opset_version=14,
        do_constant_folding=True,
    )
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copyfile(os.path.join(FIXTURE, name), os.path.join(HERE, name))
    config = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": len(fixture.vocab),
        "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": MAX_POS, "type_vocab_size": TYPES,
        "hidden_act": "gelu", "layer_norm_eps": 1e-12, "num_labels": 1,
        "id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0},
    }
    with open(os.path.join(HERE, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    held_scores, _ = evaluate(model, held_out)
    curated_scores, _ = evaluate(model, curated)
    with open(os.path.join(HERE, "split.json"), "w") as f:
        json.dump({"train": [p["id"] for p in train], "heldOut": [p["id"] for p in held_out] + [p["id"] for p in curated]}, f, indent=0)
    reference = [{"id": p["id"], "chosen": c, "rejected": r} for p, (c, r) in zip(held_out + curated, held_scores + curated_scores)]
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(reference, f, indent=0)
    with open(os.path.join(HERE, "training-log.txt"), "w") as f:
        f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    main()
