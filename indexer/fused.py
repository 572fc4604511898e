"""Fused oneDNN linear layers for bf16 inference on CPU (imported with torch, on an encoder's first use).

torch's bf16 ``addmm`` copies the broadcast bias into its output before multiplying, and GELU is one more pass
over the widest activation; together they were a quarter of a MiniLM forward pass on one core. oneDNN's linear
kernel adds the bias, and applies an exact GELU, inside the multiplication (the kernel torch's own compiler
uses). Measured in docs/benchmarks.md; the vectors agree with the unfused model's to cosine 0.99999.
"""

from __future__ import annotations

import torch

_linear = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)


class FusedLinear(torch.nn.Module):
    """``activation(x @ weight.T + bias)`` in one oneDNN call; ``activation`` is ``"none"`` or ``"gelu"``."""

    def __init__(self, linear: torch.nn.Linear, activation: str = "none") -> None:
        super().__init__()
        self.weight, self.bias = linear.weight.detach(), linear.bias
        self.out_features = linear.out_features
        self.activation = activation
        self.algorithm = "none" if activation == "gelu" else ""  # "none": exact (erf) GELU, as BERT uses

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _linear(x.reshape(-1, x.shape[-1]), self.weight, self.bias, self.activation, [], self.algorithm)
        return y.view(*x.shape[:-1], self.out_features)


def fused_kernel_available() -> bool:
    if _linear is None:
        return False
    try:
        probe = torch.ones(1, 2, dtype=torch.bfloat16)
        _linear(probe, probe, None, "gelu", [], "none")
    except RuntimeError:  # a torch built without oneDNN, or a CPU it does not support
        return False
    return True


def fuse_linear_layers(model: torch.nn.Module) -> torch.nn.Module:
    """Swap ``model``'s linear layers for :class:`FusedLinear` in place (a transformers BERT-style
    ``dense`` + ``intermediate_act_fn`` GELU pair becomes one); unchanged when the kernel is missing."""
    if not fused_kernel_available():
        return model
    for module in list(model.modules()):
        dense, act = getattr(module, "dense", None), getattr(module, "intermediate_act_fn", None)
        if isinstance(dense, torch.nn.Linear) and getattr(act, "act", None) is torch.nn.functional.gelu:
            module.dense, module.intermediate_act_fn = FusedLinear(dense, "gelu"), torch.nn.Identity()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, FusedLinear(child))
    return model
