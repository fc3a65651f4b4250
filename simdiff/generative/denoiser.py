r"""``Denoiser``: a model, its forward process and what it predicts, as the one callable samplers use.

A *model* is any callable ``model(x, t, **cond) -> prediction`` with ``x`` of shape ``(batch, ...)``,
``t`` a tensor of shape ``(batch,)`` (the forward process's time) and a prediction of ``x``'s shape;
``prediction`` names what it returns (``"eps"``, ``"x0"``, ``"v"`` or ``"score"``). A closed-form
score (:class:`simdiff.generative.GaussianMixture`), a small MLP and a UNet are all models.

Conditional models declare ``model.conditional = True`` and ``model.null_label`` (the label that
means "no condition", used by classifier-free guidance); they take ``label=`` (a tensor of class
indices of shape ``(batch,)``).

Guidance (both act on the prediction, so every sampler gets it):

* classifier-free (Ho & Salimans 2022): :math:`\hat\epsilon = \epsilon_\varnothing + w(\epsilon_y - \epsilon_\varnothing)`,
  both halves in one batched call (one network evaluation per step); ``w = 1`` is the plain
  conditional model, ``w = 0`` the unconditional one;
* classifier (Dhariwal & Nichol 2021): :math:`\nabla\log p_t(x) + w\,\nabla_x\log p_\phi(y \mid x, t)`
  with any differentiable ``classifier(x, t) -> logits``.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from simdiff.errors import InputError, InputTypeError
from simdiff.generative.parameterization import check_prediction, from_x0, to_x0

__all__ = ["Denoiser", "is_conditional"]


def is_conditional(model) -> bool:
    return bool(getattr(model, "conditional", False))


def _labels(label, batch: int, device, name="label") -> torch.Tensor:
    if isinstance(label, torch.Tensor):
        lab = label.to(device=device, dtype=torch.long).reshape(-1)
    else:
        try:
            lab = torch.as_tensor(label, dtype=torch.long, device=device).reshape(-1)
        except (TypeError, ValueError, RuntimeError):
            raise InputTypeError(f"{name}={label!r}: pass a class index or a sequence of them.") from None
    if lab.numel() == 1:
        lab = lab.expand(batch)
    if lab.numel() != batch:
        raise InputError(f"{name} has {lab.numel()} entries for a batch of {batch}; pass one label or one per sample.")
    return lab


class Denoiser:
    """Wrap ``model`` for the samplers: :meth:`x0`, :meth:`eps`, :meth:`score` at a float time.

    Parameters
    ----------
    model
        ``model(x, t, **cond)``; see the module docs.
    sde
        The forward process the model was trained for.
    prediction
        What the model returns; default ``model.prediction`` if it has one, else ``"eps"``.
    label
        Class labels for a conditional model (an int or one per sample).
    guidance
        Classifier-free guidance scale ``w`` (needs a conditional model and ``label``).
    classifier, classifier_scale
        Classifier guidance: ``classifier(x, t) -> logits`` and its scale.
    clip
        ``(lo, hi)``: clamp the data prediction to the data's range (images in [-1, 1]), as DDPM's
        and DDIM's ``clip_sample`` do; it keeps an imperfect network's large-noise predictions,
        which :math:`1/\alpha` amplifies, inside the data range. ``None``: no clamp.
    """

    def __init__(self, model: Callable, sde, prediction: str | None = None, *, label: Any = None,
                 guidance: float | None = None, classifier: Callable | None = None,
                 classifier_scale: float = 1.0, clip: tuple[float, float] | None = None):
        if not callable(model):
            raise InputTypeError(f"model={model!r} is not callable; pass a function or module model(x, t, **cond).")
        self.model, self.sde = model, sde
        self.prediction = check_prediction(prediction or getattr(model, "prediction", "eps"))
        cond = is_conditional(model)
        if guidance is not None:
            try:
                guidance = float(guidance)
            except (TypeError, ValueError):
                raise InputTypeError(f"guidance={guidance!r}: pass a number (the guidance scale).") from None
            if not cond:
                raise InputError(f"guidance={guidance:g} needs a conditional model (model.conditional = True with "
                                 f"a null label); {type(model).__name__} is unconditional. Drop guidance=.")
            if label is None:
                raise InputError("guidance= needs label= (the class to guide towards).")
        if label is not None and not cond and classifier is None:
            raise InputError(f"label= was given but {type(model).__name__} is unconditional (no model.conditional); "
                             f"drop label=, or use a class-conditional model.")
        if classifier is not None:
            if not callable(classifier):
                raise InputTypeError("classifier must be callable: classifier(x, t) -> logits.")
            if label is None:
                raise InputError("classifier= needs label= (the class whose log-probability to follow).")
        self.label, self.guidance = label, guidance
        self._model_label = label if cond else None        # with classifier guidance only: the classifier's
        self.classifier, self.classifier_scale = classifier, float(classifier_scale)
        if clip is not None:
            try:
                lo, hi = (float(v) for v in clip)
            except (TypeError, ValueError):
                raise InputTypeError(f"clip={clip!r}: pass (low, high), e.g. (-1, 1) for images.") from None
            if not lo < hi:
                raise InputError(f"clip={clip!r}: low must be below high.")
            clip = (lo, hi)
        self.clip = clip
        self._checked = False

    # -- the raw model call ----------------------------------------------------------------------
    def _tvec(self, t: float, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0],), float(t), dtype=x.dtype, device=x.device)

    def raw(self, t: float, x: torch.Tensor) -> torch.Tensor:
        """The model's own prediction at time ``t`` (with classifier-free guidance applied)."""
        if not isinstance(x, torch.Tensor):
            raise InputTypeError("the state must be a torch tensor of shape (batch, ...).")
        tv = self._tvec(t, x)
        if self._model_label is None:
            out = self.model(x, tv)
        elif self.guidance is None or self.guidance == 1.0:
            out = self.model(x, tv, label=_labels(self._model_label, x.shape[0], x.device))
        else:
            b = x.shape[0]
            lab = _labels(self._model_label, b, x.device)
            null = torch.full_like(lab, int(getattr(self.model, "null_label", -1)))
            both = self.model(torch.cat([x, x]), torch.cat([tv, tv]), label=torch.cat([lab, null]))
            self._check(both, torch.cat([x, x]))
            c, u = both[:b], both[b:]
            out = u + self.guidance * (c - u)
        self._check(out, x)
        return out

    def _check(self, out, x):
        if self._checked:
            return
        if not isinstance(out, torch.Tensor):
            raise InputTypeError(f"the model returned {type(out).__name__}; it must return a tensor shaped like its input.")
        if tuple(out.shape) != tuple(x.shape):
            raise InputError(f"the model returned shape {tuple(out.shape)} for input x of shape {tuple(x.shape)}; "
                             f"a model must return a prediction ({self.prediction}) of the same shape as x.")
        self._checked = True

    # -- conversions -----------------------------------------------------------------------------
    def x0(self, t: float, x: torch.Tensor) -> torch.Tensor:
        """The data prediction :math:`\\hat x_0(x_t)` (one network evaluation)."""
        a, s = self.sde.alpha_sigma(float(t))
        x0 = to_x0(self.raw(t, x), self.prediction, x, a, s)
        if self.classifier is not None and self.classifier_scale != 0.0:
            x0 = x0 + (self.classifier_scale * s * s / a) * self._classifier_grad(t, x)
        if self.clip is not None:
            x0 = x0.clamp(*self.clip)
        return x0

    def eps(self, t: float, x: torch.Tensor) -> torch.Tensor:
        a, s = self.sde.alpha_sigma(float(t))
        return from_x0(self.x0(t, x), "eps", x, a, s)

    def score(self, t: float, x: torch.Tensor) -> torch.Tensor:
        a, s = self.sde.alpha_sigma(float(t))
        return from_x0(self.x0(t, x), "score", x, a, s)

    def _classifier_grad(self, t, x):
        lab = _labels(self.label, x.shape[0], x.device)
        with torch.enable_grad():
            xi = x.detach().requires_grad_(True)
            logits = self.classifier(xi, self._tvec(t, xi))
            if logits.dim() != 2 or logits.shape[0] != x.shape[0]:
                raise InputError(f"the classifier returned shape {tuple(logits.shape)}; it must return logits of "
                                 f"shape (batch, classes) = ({x.shape[0]}, classes).")
            logp = torch.log_softmax(logits, dim=1).gather(1, lab[:, None]).sum()
            (grad,) = torch.autograd.grad(logp, xi)
        return grad.detach()

    def __call__(self, t: float, x: torch.Tensor) -> torch.Tensor:
        return self.x0(t, x)
