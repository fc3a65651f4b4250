"""Score-based generative diffusion (torch): forward processes, models, samplers, guidance.

``import simdiff`` never imports this package (it imports torch); ``import simdiff.generative``
does, and registers the samplers as methods of the core solver.

>>> import torch
>>> from simdiff.generative import VPSDE, GaussianMixture, sample, mode_w2
>>> mix = GaussianMixture.random(dim=2, modes=4, seed=0)
>>> sde = VPSDE()
>>> x = sample(mix.model(sde), sde, (2000, 2), method="dpmpp_2m", steps=20, seed=0)
>>> mode_w2(x, mix)["w2"] < 0.05
True
"""
from __future__ import annotations

from simdiff.generative.denoiser import Denoiser
from simdiff.generative.likelihood import log_likelihood
from simdiff.generative.mixture import ExactMixtureModel, GaussianMixture, gaussian_w2, mode_w2
from simdiff.generative.parameterization import PREDICTIONS, convert, from_x0, to_x0
from simdiff.generative.problems import FlowODE, ReverseSDE
from simdiff.generative.samplers import SAMPLERS, sample, sampler_grid, samplers
from simdiff.generative.sde import DDPMChain, DiffusionSDE, SubVPSDE, VESDE, VPSDE, sde_from_dict
from simdiff.generative.toy import TOY_DATASETS, eight_gaussians_mixture, train_toy
from simdiff.generative.checkpoint import load_model, save_checkpoint
from simdiff.generative.data import ImageData, load_dataset
from simdiff.generative.hub import load, shipped
from simdiff.generative.nets import MLP, UNet
from simdiff.generative.train import Trainer

__all__ = [
    "VPSDE", "SubVPSDE", "VESDE", "DDPMChain", "DiffusionSDE", "sde_from_dict",
    "PREDICTIONS", "convert", "to_x0", "from_x0", "Denoiser", "FlowODE", "ReverseSDE",
    "sample", "samplers", "sampler_grid", "SAMPLERS",
    "GaussianMixture", "ExactMixtureModel", "mode_w2", "gaussian_w2",
    "log_likelihood", "train_toy", "TOY_DATASETS", "eight_gaussians_mixture",
    "UNet", "MLP", "Trainer", "ImageData", "load_dataset", "load_model", "save_checkpoint", "load", "shipped",
]


def __getattr__(name: str):
    # the metrics load the shipped classifiers on use
    if name in ("fid_digits", "evaluate_digits", "classifier_scores", "texture_fid", "holdout_split"):
        from simdiff.generative import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module 'simdiff.generative' has no attribute {name!r}")
