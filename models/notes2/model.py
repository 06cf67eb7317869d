"""Decoder-only transformer for the v2 notes tokens (TOKENS.md).

Same shape as v1's model (models/notes/model.py) so the same ONNX export and Rust runtime
path apply: pre-LayerNorm GPT, learned absolute positions, causal self-attention, GELU MLP,
output projection tied to the token embedding.

  * forward(ids)                                training (scaled_dot_product_attention, causal)
  * forward_cached(ids, past, position_offset)  export / streaming path with a KV cache;
    past/present are [n_layers, 2, batch, n_heads, time, head_dim].
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 336
    n_ctx: int = 1024
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.0

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc1 = nn.Linear(cfg.d_model, cfg.d_ff)
        self.fc2 = nn.Linear(cfg.d_ff, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def _qkv(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(self.cfg.d_model, dim=2)
        shape = (b, t, self.cfg.n_heads, self.cfg.head_dim)
        return tuple(z.view(shape).transpose(1, 2) for z in (q, k, v))

    def _mlp(self, x):
        return self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self._qkv(x)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.cfg.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self._mlp(x)

    def forward_cached(self, x, past_k, past_v):
        b, t, d = x.shape
        q, k, v = self._qkv(x)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        total = k.shape[2]
        att = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.cfg.head_dim))
        qpos = torch.arange(t, device=x.device).unsqueeze(1) + (total - t)
        kpos = torch.arange(total, device=x.device).unsqueeze(0)
        att = att.masked_fill(kpos > qpos, float("-inf"))
        y = torch.matmul(torch.softmax(att, dim=-1), v)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self._mlp(x), k, v


class NotesLM(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.n_ctx, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for blk in self.blocks:
            nn.init.normal_(blk.proj.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))
            nn.init.normal_(blk.fc2.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _logits(self, x):
        return F.linear(self.ln_f(x), self.tok.weight)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(pos))
        for blk in self.blocks:
            x = blk(x)
        return self._logits(x)

    def forward_cached(self, ids, past, position_offset):
        """ids [1, t]; past [L, 2, 1, H, p, hd]; position_offset int64 [1] (== p)."""
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device) + position_offset.reshape(())
        x = self.tok(ids) + self.pos(pos).unsqueeze(0)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk.forward_cached(x, past[i, 0], past[i, 1])
            presents.append(torch.stack([k, v], dim=0))
        return self._logits(x), torch.stack(presents, dim=0)
