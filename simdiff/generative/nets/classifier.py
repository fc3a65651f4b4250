"""A small CNN digit classifier whose penultimate layer serves as the feature space of FID-digits.

Layout for a ``resolution``-pixel square image: stages of two 3x3 convolutions (ReLU) and a 2x2
max-pool, halving the side until it is at most 3 (8 -> 4 -> 2; 28 -> 14 -> 7 -> 3); then
``flatten -> Linear(features) -> ReLU`` (the *features*) ``-> Dropout -> Linear(num_classes)`` (the
logits). No batch norm: the features of one image never depend on the rest of its batch.

>>> import torch
>>> net = DigitClassifier(resolution=8)
>>> net(torch.zeros(5, 1, 8, 8)).shape, net.features(torch.zeros(5, 1, 8, 8)).shape
(torch.Size([5, 10]), torch.Size([5, 64]))
"""
from __future__ import annotations

import torch
from torch import nn

from simdiff.errors import InputError
from simdiff.generative.nets.base import Net, register_net

__all__ = ["DigitClassifier"]


@register_net
class DigitClassifier(Net):
    """CNN classifier for ``channels``-channel square images in [-1, 1].

    Parameters: ``resolution`` (side in pixels, >= 4), ``channels`` (1 or 3), ``num_classes``
    (>= 2), ``width`` (channels of the first stage; later stages use ``2*width``), ``features``
    (size of the penultimate layer that :meth:`features` returns), ``dropout`` (before the last
    layer, active in training only).
    """

    def __init__(self, resolution: int = 8, channels: int = 1, num_classes: int = 10, width: int = 32,
                 features: int = 64, dropout: float = 0.2):
        for name, value, lo in (("resolution", resolution, 4), ("num_classes", num_classes, 2),
                                ("width", width, 1), ("features", features, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise InputError(f"DigitClassifier: {name}={value!r} must be a whole number >= {lo}.")
        if channels not in (1, 3):
            raise InputError(f"DigitClassifier: channels={channels!r} must be 1 (grey) or 3 (RGB).")
        if not 0.0 <= float(dropout) < 1.0:
            raise InputError(f"DigitClassifier: dropout={dropout!r} must be in [0, 1).")
        super().__init__(dict(resolution=resolution, channels=channels, num_classes=num_classes, width=width,
                              features=features, dropout=float(dropout)))
        self.resolution, self.channels, self.num_classes = resolution, channels, num_classes
        layers: list[nn.Module] = []
        side, c_in, stage = resolution, channels, 0
        while side > 3:
            c_out = width * min(2 ** stage, 2)
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            side, c_in, stage = side // 2, c_out, stage + 1
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.embed = nn.Sequential(nn.Linear(c_in * side * side, features), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(features, num_classes))

    def _check(self, x: torch.Tensor) -> None:
        want = (self.channels, self.resolution, self.resolution)
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or tuple(x.shape[1:]) != want:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise InputError(f"DigitClassifier expects images of shape (N, {want[0]}, {want[1]}, {want[2]}); "
                             f"got {got}.")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations, shape ``(N, features)``: the FID feature space."""
        self._check(x)
        return self.embed(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape ``(N, num_classes)``."""
        return self.head(self.features(x))
