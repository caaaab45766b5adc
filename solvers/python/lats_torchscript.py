#!/usr/bin/env python3
"""Exports a native LaTS checkpoint as TorchScript, and writes LaTS checkpoints around scripted modules.

    python3 lats_torchscript.py NATIVE_CHECKPOINT OUT_DIR

reads NATIVE_CHECKPOINT/model.json and weights.pt (an AROMA model: cross_attention encoder,
local_field decoder, deterministic dynamics), rebuilds the same network in PyTorch, loads the
weights, scripts it and writes OUT_DIR/module.pt with OUT_DIR/model.json, whose encoder, decoder
and dynamics are "torchscript" components running that module (doc/torchscript.md). Every LaTS
stepper and host loads OUT_DIR like any checkpoint (-lats_model OUT_DIR). The module is also a
starting point for work in Python: it holds the weights as ordinary parameters.

From Python, `write_checkpoint(scripted, out_dir, ...)` wraps a module of your own that has the
documented attributes and methods.

Needs PyTorch (Debian: python3-torch). The network mirrors solvers/src/neural/*.cpp operation
by operation, so outputs agree with the native model bit for bit with the same torch build
(float32 round-off otherwise).
"""
import json
import math
import os
import sys
import zlib
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

FORMAT_VERSION = 2


# --------------------------------------------------------------------------------------------
# The native architecture (names of modules and tensors as in weights.pt)


class FourierFeatures(nn.Module):
    def __init__(self, input_dim: int, num_frequencies: int):
        super().__init__()
        k = torch.arange(num_frequencies, dtype=torch.float64)
        self.register_buffer("frequencies", math.pi * torch.pow(2.0, k).to(torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        angles = (x.unsqueeze(-1) * self.frequencies.to(x.dtype)).flatten(-2)
        return torch.cat([x, torch.sin(angles), torch.cos(angles)], -1)


class Attention(nn.Module):
    def __init__(self, query_dim: int, key_dim: int, heads: int, head_dim: int):
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.scale = 1.0 / math.sqrt(head_dim)
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(key_dim, inner, bias=False)
        self.to_v = nn.Linear(key_dim, inner, bias=False)
        self.to_out = nn.Linear(inner, query_dim)

    def split(self, x: Tensor) -> Tensor:
        return x.view(x.size(0), x.size(1), self.heads, -1).transpose(1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        qh = self.split(self.to_q(q)) * self.scale
        logits = torch.matmul(qh, self.split(self.to_k(k)).transpose(-2, -1))
        m = logits.max(-1, keepdim=True)[0]
        e = torch.exp(logits - m)
        heads = torch.matmul(e, self.split(self.to_v(v))) / e.sum(-1, keepdim=True)
        x = heads.transpose(1, 2).contiguous()
        return self.to_out(x.view(x.size(0), x.size(1), -1))


class SelfAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attention = Attention(dim, dim, heads, dim // heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        n = self.norm1(x)
        y = x + self.attention(n, n, n)
        return y + self.mlp(self.norm2(y))


class DiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.attention = Attention(dim, dim, heads, dim // heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.modulation = nn.Linear(dim, 6 * dim)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        m = self.modulation(torch.nn.functional.silu(condition)).unsqueeze(1).chunk(6, -1)
        h = self.norm1(x) * (1 + m[1]) + m[0]
        y = x + m[2] * self.attention(h, h, h)
        h = self.norm2(y) * (1 + m[4]) + m[3]
        return y + m[5] * self.mlp(h)


class CrossAttentionEncoder(nn.Module):
    def __init__(self, spatial_dim: int, num_components: int, c: Dict):
        super().__init__()
        d, heads = c["token_dim"], c["num_heads"]
        self.features = FourierFeatures(spatial_dim, c["num_frequencies"])
        f = spatial_dim * (2 * c["num_frequencies"] + 1)
        self.queries = nn.Parameter(torch.zeros(c["num_tokens"], d))
        self.key_embed = nn.Linear(f, d)
        self.value_embed = nn.Sequential(nn.Linear(f + num_components, d), nn.GELU(), nn.Linear(d, d))
        self.attention = Attention(d, d, heads, d // heads)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, coords: Tensor, values: Tensor) -> Tensor:
        q = self.queries.to(coords.dtype).unsqueeze(0).expand(coords.size(0), -1, -1)
        ff = self.features(coords)
        keys = self.key_embed(ff)
        vals = self.value_embed(torch.cat([ff, values], -1))
        x = self.norm1(q + self.attention(q, keys, vals))
        return self.norm2(x + self.mlp(x))


class Bottleneck(nn.Module):
    def __init__(self, token_dim: int, latent_dim: int):
        super().__init__()
        self.to_mean = nn.Linear(token_dim, latent_dim)
        self.to_logvar = nn.Linear(token_dim, latent_dim)  # training only; kept for the weights

    def forward(self, tokens: Tensor) -> Tensor:
        return self.to_mean(tokens)


class LocalFieldDecoder(nn.Module):
    def __init__(self, spatial_dim: int, latent_dim: int, num_components: int, c: Dict):
        super().__init__()
        d, heads = c["hidden"], c["num_heads"]
        self.features = FourierFeatures(spatial_dim, c["num_frequencies"])
        f = spatial_dim * (2 * c["num_frequencies"] + 1)
        self.token_embed = nn.Linear(latent_dim, d)
        self.blocks = nn.ModuleList([SelfAttentionBlock(d, heads) for _ in range(c["depth"])])
        self.query_embed = nn.Linear(f, d)
        self.attention = Attention(d, d, heads, d // heads)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Sequential(nn.Linear(d + f, d), nn.GELU(), nn.Linear(d, d), nn.GELU(),
                                  nn.Linear(d, num_components))

    def forward(self, tokens: Tensor, coords: Tensor) -> Tensor:
        kv = self.token_embed(tokens)
        for block in self.blocks:
            kv = block(kv)
        ff = self.features(coords)
        q = self.query_embed(ff)
        local = self.norm(q + self.attention(q, kv, kv))
        return self.head(torch.cat([local, ff], -1))


class LatentTransformer(nn.Module):
    def __init__(self, latent_dim: int, history: int, num_tokens: int, num_parameters: int, c: Dict):
        super().__init__()
        dim = c["dim"]
        self.dim = dim
        self.input = nn.Linear(latent_dim * history, dim)
        self.token_position = nn.Parameter(torch.zeros(num_tokens, dim))
        self.parameter_embed = nn.Linear(num_parameters, dim) if num_parameters > 0 else nn.Identity()
        self.blocks = nn.ModuleList([DiTBlock(dim, c["num_heads"]) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, latent_dim)

    def forward(self, h: Tensor, parameters: Optional[Tensor]) -> Tensor:
        current = h.select(1, h.size(1) - 1)
        x = self.input(h.permute(0, 2, 1, 3).reshape(h.size(0), h.size(2), -1))
        x = x + self.token_position.to(x.dtype)
        condition = torch.zeros(h.size(0), self.dim, dtype=x.dtype)
        if parameters is not None:
            condition = condition + self.parameter_embed(parameters)
        for block in self.blocks:
            x = block(x, condition)
        return current + self.output(self.norm(x))


class ExportedModel(nn.Module):
    """The LaTS TorchScript signature (doc/torchscript.md) around the native network."""

    spatial_dim: int
    num_components: int
    latent_dim: int
    num_tokens: int
    history: int
    num_parameters: int

    def __init__(self, config: Dict):
        super().__init__()
        self.spatial_dim = config["spatial_dim"]
        self.num_components = config["num_components"]
        self.latent_dim = config["latent_dim"]
        self.history = config["history"]
        self.num_parameters = config["num_parameters"]
        enc, dec, dyn = config["encoder"], config["decoder"], config["dynamics"]
        self.num_tokens = enc["num_tokens"]
        self.encoder = CrossAttentionEncoder(self.spatial_dim, self.num_components, enc)
        self.bottleneck = Bottleneck(enc["token_dim"], self.latent_dim)
        self.decoder = LocalFieldDecoder(self.spatial_dim, self.latent_dim, self.num_components, dec)
        self.dynamics = LatentTransformer(self.latent_dim, self.history, self.num_tokens, self.num_parameters, dyn)

    @torch.jit.export
    def encode(self, coords: Tensor, values: Tensor) -> Tensor:
        return self.bottleneck(self.encoder(coords, values))

    @torch.jit.export
    def decode(self, latent: Tensor, coords: Tensor) -> Tensor:
        return self.decoder(latent, coords)

    @torch.jit.export
    def step(self, latent: Tensor, parameters: Optional[Tensor] = None) -> Tensor:
        window = latent.unsqueeze(1) if self.history == 1 else latent
        return self.dynamics(window, parameters)

    def forward(self, latent: Tensor, parameters: Optional[Tensor] = None) -> Tensor:
        return self.step(latent, parameters)


# --------------------------------------------------------------------------------------------
# Checkpoints


def _fail(message: str):
    raise SystemExit("lats_torchscript: " + message)


def _write_atomically(path: str, write):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _native_config(description: Dict, path: str) -> Dict:
    config = description["config"]
    version = description.get("format_version")
    if version == 1:  # the flat AROMA configuration
        if config.get("dynamics") != "deterministic":
            _fail("%s: only deterministic dynamics can be exported (this model's is %s)" %
                  (path, config.get("dynamics")))
        heads, freqs = config["num_heads"], config["num_frequencies"]
        return dict(config, encoder={"type": "cross_attention", "num_tokens": config["num_tokens"],
                                     "token_dim": config["token_dim"], "num_heads": heads, "num_frequencies": freqs},
                    decoder={"type": "local_field", "hidden": config["decoder_hidden"],
                             "depth": config.get("decoder_depth", 0), "num_heads": heads, "num_frequencies": freqs},
                    dynamics={"type": "deterministic", "dim": config["dynamics_dim"],
                              "depth": config["dynamics_depth"], "num_heads": heads})
    if version != FORMAT_VERSION:
        _fail("%s: format version %r; this exporter reads versions 1 and %d" % (path, version, FORMAT_VERSION))
    expected = {"encoder": "cross_attention", "decoder": "local_field", "dynamics": "deterministic"}
    for role, kind in expected.items():
        if config[role]["type"] != kind:
            _fail("%s: the %s is '%s'; this exporter rebuilds %s (AROMA with deterministic dynamics)" %
                  (path, role, config[role]["type"], ", ".join("%s %s" % kv for kv in expected.items())))
    return config


def load_native(checkpoint: str) -> (ExportedModel, Dict):
    """The native checkpoint's network in PyTorch, with its weights, and its model.json."""
    path = os.path.join(checkpoint, "model.json")
    try:
        with open(path) as f:
            description = json.load(f)
    except (OSError, ValueError) as e:
        _fail("cannot read %s (%s); is %s a LaTS checkpoint?" % (path, e, checkpoint))
    if description.get("format") != "lats-model":
        _fail("%s is not a LaTS model description (format %r)" % (path, description.get("format")))
    model = ExportedModel(_native_config(description, path))
    weights = torch.load(os.path.join(checkpoint, "weights.pt"), map_location="cpu")
    if description.get("format_version") == 1:  # the diffusion refiner's names moved; not exported
        weights = {k: v for k, v in weights.items() if not k.startswith("refiner.")}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        _fail("%s/weights.pt does not fit the rebuilt network: missing %s, unexpected %s" %
              (checkpoint, missing, unexpected))
    return model.eval(), description


def write_checkpoint(scripted, out_dir: str, description: Dict, module_file: str = "module.pt"):
    """Writes OUT_DIR/module.pt and OUT_DIR/model.json (last, so its presence marks a whole
    checkpoint). `description` is a LaTS model.json (fields, normalization, sizes); its
    components become "torchscript" ones running the module."""
    os.makedirs(out_dir, exist_ok=True)
    _write_atomically(os.path.join(out_dir, module_file), lambda p: scripted.save(p))
    out = json.loads(json.dumps(description))
    sizes = {k: int(getattr(scripted, k)) for k in ("spatial_dim", "num_components", "latent_dim")}
    sizes["num_parameters"] = int(getattr(scripted, "num_parameters", 0))
    sizes["history"] = int(getattr(scripted, "history", 1))
    component = {"type": "torchscript", "file": module_file}
    out["config"] = dict(sizes, encoder=component, decoder=component, dynamics=component)
    out["format"], out["format_version"] = "lats-model", FORMAT_VERSION
    out.setdefault("provenance", {})
    # LaTS verifies the files model.json records a checksum of before it loads them.
    with open(os.path.join(out_dir, module_file), "rb") as f:
        out["checksums"] = {module_file: "crc32:%08x" % (zlib.crc32(f.read()) & 0xFFFFFFFF)}

    def write(p):
        with open(p, "w") as f:
            json.dump(out, f, indent=2, sort_keys=True)
            f.write("\n")

    _write_atomically(os.path.join(out_dir, "model.json"), write)


def export(checkpoint: str, out_dir: str):
    model, description = load_native(checkpoint)
    scripted = torch.jit.script(model)
    description.setdefault("provenance", {})
    description["provenance"]["exported_from"] = os.path.abspath(checkpoint)
    description["provenance"]["exported_with"] = "lats_torchscript.py, torch " + torch.__version__
    write_checkpoint(scripted, out_dir, description)


def main(argv: List[str]):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1] if len(argv) > 1 else __doc__)
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    export(argv[1], argv[2])
    print("wrote %s/module.pt and %s/model.json" % (argv[2], argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
