r"""What a network predicts, and exact conversions between the four usual choices.

With :math:`x_t = \alpha x_0 + \sigma\epsilon` (any forward process of :mod:`simdiff.generative.sde`):

* ``"eps"``: the noise :math:`\epsilon` (Ho et al. 2020);
* ``"x0"``: the clean data :math:`x_0` (the denoiser :math:`D(x_t)` of Karras et al. 2022);
* ``"v"``: the velocity :math:`v = \alpha\epsilon - \sigma x_0` (Salimans & Ho 2022);
* ``"score"``: :math:`\nabla_x \log p_t(x) = -\epsilon/\sigma`.

Given :math:`x_t` each determines the others, exactly (for ``v`` through
:math:`(\alpha^2+\sigma^2)\,x_0 = \alpha x_t - \sigma v`, which holds for VE as well as VP).
"""
from __future__ import annotations

from simdiff.errors import InputError

PREDICTIONS = ("eps", "x0", "v", "score")

__all__ = ["PREDICTIONS", "to_x0", "from_x0", "convert", "check_prediction"]


def check_prediction(prediction: str) -> str:
    if prediction not in PREDICTIONS:
        raise InputError(f"prediction={prediction!r} is not a parameterization; use one of {', '.join(PREDICTIONS)}.")
    return prediction


def to_x0(pred, prediction: str, x, alpha, sigma):
    """The data prediction implied by ``pred`` (of kind ``prediction``) at :math:`(\\alpha, \\sigma)`."""
    if prediction == "x0":
        return pred
    if prediction == "eps":
        return (x - sigma * pred) / alpha
    if prediction == "v":
        return (alpha * x - sigma * pred) / (alpha * alpha + sigma * sigma)
    if prediction == "score":
        return (x + (sigma * sigma) * pred) / alpha
    check_prediction(prediction)


def from_x0(x0, prediction: str, x, alpha, sigma):
    """The prediction of kind ``prediction`` implied by the data prediction ``x0``."""
    if prediction == "x0":
        return x0
    eps = (x - alpha * x0) / sigma
    if prediction == "eps":
        return eps
    if prediction == "v":
        return alpha * eps - sigma * x0
    if prediction == "score":
        return -eps / sigma
    check_prediction(prediction)


def convert(pred, source: str, target: str, x, alpha, sigma):
    """Convert a prediction of kind ``source`` into kind ``target``."""
    check_prediction(source)
    check_prediction(target)
    if source == target:
        return pred
    if source == "eps" and target == "score":
        return -pred / sigma
    if source == "score" and target == "eps":
        return -sigma * pred
    return from_x0(to_x0(pred, source, x, alpha, sigma), target, x, alpha, sigma)
