"""Small decoder-only transformer for Continuo's "notes" tokens (see TOKENS.md).

Pre-LayerNorm GPT: token + learned absolute position embeddings, causal
multi-head self-attention, GELU MLP, tied output projection.

Two forward paths with the same weights:
  * ``forward(ids)``: training, full causal attention (scaled_dot_product_attention).
  * ``forward_cached(ids, past, position_offset)``: the ONNX export path with a KV
    cache, past/present laid out as [n_layers, 2, batch, n_heads, time, head_dim].
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 222
    n_ctx: int = 768
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.1

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

    def _split(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(self.cfg.d_model, dim=2)
        shape = (b, t, self.cfg.n_heads, self.cfg.head_dim)
        return (q.view(shape).transpose(1, 2), k.view(shape).transpose(1, 2), v.view(shape).transpose(1, 2))

    def _mlp(self, x):
        return self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self._split(self.ln1(x))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.cfg.dropout if self.training else 0.0)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self._mlp(x)

    def forward_cached(self, x, past_k, past_v):
        """x [b, t, d]; past_k/v [b, h, p, hd] -> (x, k, v) with k/v [b, h, p+t, hd]."""
        b, t, d = x.shape
        q, k, v = self._split(self.ln1(x))
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        total = k.shape[2]
        att = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.cfg.head_dim))
        # Query i sits at absolute position (total - t + i) and sees keys 0..that position.
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
        for blk in self.blocks:  # GPT-2 style scaled init of residual projections
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
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device)
        x = self.drop(self.tok(ids) + self.pos(pos))
        for blk in self.blocks:
            x = blk(x)
        return self._logits(x)

    def forward_cached(self, ids, past, position_offset):
        """ids [1, t] int64; past [L, 2, 1, H, p, hd] float32; position_offset int64 [1] (== p).

        Returns logits [1, t, vocab] and present [L, 2, 1, H, p + t, hd].
        """
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device) + position_offset.reshape(())
        x = self.tok(ids) + self.pos(pos).unsqueeze(0)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk.forward_cached(x, past[i, 0], past[i, 1])
            presents.append(torch.stack([k, v], dim=0))
        return self._logits(x), torch.stack(presents, dim=0)
