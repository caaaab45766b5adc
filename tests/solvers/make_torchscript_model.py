"""Writes small TorchScript models with the LaTS latent-operator signature (doc/torchscript.md).

    /usr/bin/python3 make_torchscript_model.py OUT_DIR

good.pt: encode = mean of the values over the points (one token), decode = that token at
every query point, step = 0.5 * latent. Exact, so the C++ test can check every call.
no_step.pt: the same without step (the loader must reject it).
wrong_tokens.pt: good.pt claiming num_tokens 2 and latent_dim 3 (encode returns 1 token).
"""
import sys

import torch
from torch import Tensor


class MeanField(torch.nn.Module):
    spatial_dim: int
    num_components: int

    def __init__(self):
        super().__init__()
        self.spatial_dim = 2
        self.num_components = 3
        self.rate = torch.nn.Parameter(torch.tensor(0.5))

    @torch.jit.export
    def encode(self, coords: Tensor, values: Tensor) -> Tensor:
        return values.mean(dim=1, keepdim=True)

    @torch.jit.export
    def decode(self, latent: Tensor, coords: Tensor) -> Tensor:
        return latent.expand(-1, coords.shape[1], -1)

    @torch.jit.export
    def step(self, latent: Tensor) -> Tensor:
        return self.rate * latent

    def forward(self, latent: Tensor) -> Tensor:
        return self.step(latent)


class NoStep(torch.nn.Module):
    spatial_dim: int
    num_components: int

    def __init__(self):
        super().__init__()
        self.spatial_dim = 2
        self.num_components = 3

    @torch.jit.export
    def encode(self, coords: Tensor, values: Tensor) -> Tensor:
        return values.mean(dim=1, keepdim=True)

    @torch.jit.export
    def decode(self, latent: Tensor, coords: Tensor) -> Tensor:
        return latent.expand(-1, coords.shape[1], -1)

    def forward(self, latent: Tensor) -> Tensor:
        return latent


out = sys.argv[1]
torch.jit.script(MeanField()).save(out + "/good.pt")
torch.jit.script(NoStep()).save(out + "/no_step.pt")



class WrongTokens(MeanField):
    """MeanField with the attributes of a checkpoint component, claiming 2 tokens while
    encode() returns 1: LaTS must name the shape it got and the one it expected."""

    latent_dim: int
    num_tokens: int

    def __init__(self):
        super().__init__()
        self.latent_dim = 3
        self.num_tokens = 2


torch.jit.script(WrongTokens()).save(out + "/wrong_tokens.pt")
print("ok")
