"""``simdiff train``, ``simdiff generate`` and ``simdiff evaluate``: score-based diffusion (needs torch).

Each command checks for torch before importing it and fails with one line naming the install
command; ``--help`` works without torch. Heavy imports happen inside the callbacks.
"""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import click

from simdiff_cli.errors import CommandError

TORCH_INSTALL = "pip install 'simdiff[generative]' (or pip install torch)"
SDES = ("vp", "subvp", "ve", "ddpm")


def torch_available() -> bool:
    """Whether ``import torch`` can succeed, without importing it (importing takes seconds)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def require_torch(command: str) -> None:
    """Raise a one-line :class:`CommandError` (exit code 2) when torch is missing."""
    if not torch_available():
        raise CommandError(f"simdiff {command} needs torch, which is not installed: {TORCH_INSTALL}")


def _threads():
    """Use the machine's cores for torch (its default may be 1 in some containers)."""
    import os

    import torch

    n = os.cpu_count() or 1
    if torch.get_num_threads() < n:
        torch.set_num_threads(n)


def _sde(name: str):
    from simdiff.generative import DDPMChain, SubVPSDE, VESDE, VPSDE

    return {"vp": VPSDE, "subvp": SubVPSDE, "ve": VESDE, "ddpm": DDPMChain}[name]()


# ------------------------------------------------------------------------------------------------
# train

@click.command()
@click.option("--data", "data_spec", required=True, help="digits | mnist | patterns | folder:PATH | npz:PATH")
@click.option("--resolution", type=int, default=None, help="Image size (default: the data set's own).")
@click.option("--data-opt", "data_opts", multiple=True, metavar="KEY=VALUE",
              help="A data set option, e.g. n_per_class=256 for patterns; repeatable.")
@click.option("--steps", type=int, default=20000, show_default=True, help="Optimiser steps in total.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/model", show_default=True,
              help="Run directory: checkpoint, log.csv, sample grids.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the run in --out exactly where it stopped.")
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=2e-4, show_default=True, help="Peak learning rate (AdamW).")
@click.option("--warmup", type=int, default=200, show_default=True, help="Learning-rate warm-up steps.")
@click.option("--ema-decay", type=float, default=0.999, show_default=True)
@click.option("--channels", type=int, default=64, show_default=True, help="UNet base channel width.")
@click.option("--channel-mult", default="1,2", show_default=True, help="Width multipliers per resolution level.")
@click.option("--res-blocks", type=int, default=2, show_default=True, help="Residual blocks per level.")
@click.option("--attn", default="", help="Resolutions with self-attention, e.g. 8 or 7,14 (default: the lowest).")
@click.option("--dropout", type=float, default=0.0, show_default=True)
@click.option("--conditional/--unconditional", default=True, show_default=True,
              help="Class-conditional (with a null class for guidance) when the data has labels.")
@click.option("--sde", "sde_name", type=click.Choice(SDES), default="vp", show_default=True)
@click.option("--prediction", type=click.Choice(["eps", "x0", "v"]), default="eps", show_default=True)
@click.option("--holdout", type=float, default=0.2, show_default=True,
              help="Fraction of the data kept out of training (for evaluation); digits and mnist always "
                   "hold out the metrics' fixed 20% split (0 trains on everything).")
@click.option("--checkpoint-every", type=int, default=1000, show_default=True)
@click.option("--sample-every", type=int, default=2000, show_default=True, help="Sample grid interval (0: none).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--progress/--no-progress", default=True, show_default=True)
def train(data_spec, resolution, data_opts, steps, out, seed, resume, batch_size, lr, warmup, ema_decay, channels,
          channel_mult, res_blocks, attn, dropout, conditional, sde_name, prediction, holdout, checkpoint_every,
          sample_every, device, progress):
    """Train a UNet score model on an image data set (needs torch).

    Checkpoints (safetensors weights + JSON config + optimizer/EMA/RNG state) are written
    atomically to --out every --checkpoint-every steps and on Ctrl-C; --resume continues exactly.
    Example: simdiff train --data digits --steps 20000 --out runs/digits --seed 0
    """
    require_torch("train")
    _threads()
    from simdiff.generative.train import Trainer

    t0 = time.perf_counter()
    if resume:
        if not (Path(out) / "model.json").is_file():
            raise CommandError(f"--resume: no checkpoint in {out!r} (model.json is missing); start without --resume.")
        tr = Trainer.resume(out, progress=progress)
        click.echo(f"resuming {out} at step {tr.step} of {tr.total_steps}")
    else:
        tr = _new_trainer(data_spec, resolution, data_opts, steps, out, seed, batch_size, lr, warmup, ema_decay, channels,
                          channel_mult, res_blocks, attn, dropout, conditional, sde_name, prediction, holdout,
                          checkpoint_every, sample_every, device, progress)
    start = tr.step
    hist = tr.fit()
    dt = time.perf_counter() - t0
    done = tr.step - start
    loss = hist[-1]["loss"] if hist else float("nan")
    click.echo(f"trained {done} steps in {dt:.0f} s ({done * tr.batch_size / max(dt, 1e-9):.0f} images/s), "
               f"step {tr.step}/{tr.total_steps}, loss {loss:.4f}. Checkpoint: {out} "
               f"(simdiff generate {out} --n 64 --out samples.png).")


def _new_trainer(data_spec, resolution, data_opts, steps, out, seed, batch_size, lr, warmup, ema_decay, channels, channel_mult,
                 res_blocks, attn, dropout, conditional, sde_name, prediction, holdout, checkpoint_every,
                 sample_every, device, progress):
    from simdiff.generative.data import load_dataset
    from simdiff.generative.nets import UNet
    from simdiff.generative.train import Trainer

    if (Path(out) / "model.json").is_file():
        raise CommandError(f"{out!r} already holds a checkpoint: pass --resume to continue it, or another --out.")
    opts = {"resolution": resolution} if resolution else {}
    for item in data_opts:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--data-opt {item!r}: write KEY=VALUE, e.g. n_per_class=256.")
        opts[key.strip()] = _value(val.strip())
    data = load_dataset(data_spec, **opts)
    train_data, _ = _holdout(data, data_spec, holdout)
    c, h, w = data.shape
    try:
        mult = tuple(int(v) for v in channel_mult.split(",") if v.strip())
        attn_res = tuple(int(v) for v in attn.split(",") if v.strip()) if attn else None
    except ValueError:
        raise CommandError("--channel-mult and --attn take comma-separated whole numbers, e.g. 1,2,2.") from None
    classes = data.num_classes if conditional else None
    kw = dict(in_channels=c, resolution=h, base_channels=channels, channel_mult=mult, num_res_blocks=res_blocks,
              dropout=dropout, num_classes=classes, prediction=prediction)
    if attn_res is not None:
        kw["attn_resolutions"] = attn_res
    net = UNet(**kw)
    click.echo(f"data {data_spec}: {len(train_data)} training images {c}x{h}x{w}"
               f"{f', {classes} classes' if classes else ''}; UNet with {net.n_params / 1e6:.2f} M parameters")
    return Trainer(net, _sde(sde_name), train_data, batch_size=min(batch_size, len(train_data)), lr=lr,
                   warmup=warmup, total_steps=steps, ema_decay=ema_decay, seed=seed, device=device, out=out,
                   checkpoint_every=checkpoint_every, sample_every=sample_every or None, progress=progress)


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _holdout(data, spec, fraction):
    """Training part of ``data``: for digits and mnist the fixed split the metrics use."""
    from simdiff.generative.data import ImageData, split

    name = spec.split(":")[0]
    if fraction <= 0:
        return data, None
    if name in ("digits", "mnist"):
        import torch

        from simdiff.generative.metrics import holdout_split

        tr, ho = holdout_split(name)
        tr = torch.as_tensor(tr, dtype=torch.long)
        return ImageData(data.images[tr], data.labels[tr], data.classes, data.name, data.options), ho
    (xi, li), _ = split(data.images, data.labels, fraction, seed=0)
    return ImageData(xi, li, data.classes, data.name, data.options), None


# ------------------------------------------------------------------------------------------------
# generate

def _load_model(model: str | None, device: str):
    from simdiff.generative import hub

    name = model
    if name is None:
        ship = hub.shipped()
        if not ship:
            raise CommandError("no model named and no shipped model in this installation; pass a checkpoint directory.")
        name = "mnist" if "mnist" in ship else ship[0]
    try:
        return hub.load(name, device=_device(device)), name
    except FileNotFoundError as err:
        raise CommandError(f"model {name!r}: {err}") from None


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise CommandError("--device cuda: torch sees no CUDA device here; use --device cpu or auto.")
    return device


def _labels_for(net, label, n):
    if label is None:
        if getattr(net, "conditional", False):
            return [k % net.num_classes for k in range(n)]      # a balanced grid: one class per row
        return None
    if not getattr(net, "conditional", False):
        raise CommandError("--label was given but the model is unconditional (trained without classes); drop --label.")
    if not 0 <= label < net.num_classes:
        raise CommandError(f"--label {label} is outside the model's classes 0..{net.num_classes - 1}.")
    return [label] * n


@click.command()
@click.argument("model", required=False)
@click.option("--n", type=int, default=64, show_default=True, help="Number of images.")
@click.option("--label", type=int, default=None, help="Class to generate (default: all classes in turn).")
@click.option("--guidance", type=float, default=None, help="Classifier-free guidance scale (default 1.0 for conditional models).")
@click.option("--sampler", default="dpm++2m", show_default=True, help="Any name of simdiff.generative.samplers().")
@click.option("--steps", type=int, default=20, show_default=True, help="Network evaluations.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default="samples.png", show_default=True,
              help="PNG grid, or .npz with arrays images (N, C, H, W) in [0, 1] and labels.")
@click.option("--trajectory", type=click.Path(dir_okay=False), default=None,
              help="Also write the reverse process as an animation (.gif).")
@click.option("--forward", is_flag=True, help="Show the forward noising of real images instead of sampling.")
@click.option("--scale", type=int, default=None, help="Pixel repeat factor of the PNG (default: to about 256 px per image row).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def generate(model, n, label, guidance, sampler, steps, seed, out, trajectory, forward, scale, device):
    """Generate images from a trained diffusion model (needs torch).

    MODEL is a shipped model name (digits, mnist, patterns) or a checkpoint directory written by
    `simdiff train`; with none, the shipped MNIST model. Example:
    simdiff generate --n 64 --label 3 --guidance 2.0 --sampler dpm++2m --steps 20 --out three.png
    """
    require_torch("generate")
    _threads()
    import numpy as np
    import torch

    from simdiff.generative import sample

    if n < 1:
        raise CommandError(f"--n {n} must be >= 1.")
    net, name = _load_model(model, device)
    if forward:
        return _forward(net, name, n, seed, out, trajectory, scale)
    labels = _labels_for(net, label, n)
    if guidance is not None and not getattr(net, "conditional", False):
        raise CommandError(f"--guidance needs a class-conditional model; {name!r} is unconditional. Drop --guidance.")
    if labels is not None and guidance is None:
        guidance = 1.0
    shape = (n, *_image_shape(net))
    dev = next(net.parameters()).device
    t0 = time.perf_counter()
    res = sample(net, net.sde, shape, method=sampler, steps=steps, seed=seed, device=dev, clip=(-1.0, 1.0),
                 label=torch.tensor(labels, device=dev) if labels is not None else None, guidance=guidance,
                 return_trajectory=trajectory is not None)
    x = res.y[-1] if trajectory is not None else res
    dt = time.perf_counter() - t0
    x = x.clamp(-1, 1)
    if not torch.isfinite(x).all():
        raise CommandError("the sampler produced non-finite values; try more --steps or another --sampler.")
    nrow = int(np.ceil(np.sqrt(n))) if labels is None or label is not None else _nrow(net, n)
    _write_images(out, x, labels, nrow, scale)
    if trajectory is not None:
        _write_trajectory(trajectory, res.t, res.y.clamp(-1, 1), nrow)
    cls = f", label {label}" if label is not None else (", all classes" if labels else "")
    g = f", guidance {guidance:g}" if labels else ""
    click.echo(f"{n} images from {name}{cls}{g} with {sampler} in {steps} steps: {dt:.2f} s "
               f"({1000 * dt / n:.1f} ms/image). Wrote {out}" + (f" and {trajectory}" if trajectory else "") + ".")


def _nrow(net, n):
    return net.num_classes if n >= net.num_classes else n


def _image_shape(net):
    cfg = net.config
    return (cfg.get("in_channels", 1), cfg["resolution"], cfg["resolution"])


def _write_images(out, x, labels, nrow, scale):
    import numpy as np

    from simdiff.generative.data import save_image_grid
    from simdiff.io.atomic import atomic_open

    path = Path(out)
    if path.suffix.lower() == ".npz":
        arr = ((x.detach().float().cpu() + 1) / 2).clamp(0, 1).numpy().astype(np.float32)
        lab = np.asarray(labels if labels is not None else [-1] * len(arr), dtype=np.int64)
        with atomic_open(path) as fh:
            np.savez(fh, images=arr, labels=lab)
    elif path.suffix.lower() == ".png":
        h = x.shape[-1]
        save_image_grid(path, x, nrow=nrow, scale=scale or max(1, 256 // (h * nrow) + 1))
    else:
        raise CommandError(f"--out {out!r}: use a .png (image grid) or .npz (arrays) file name.")


def _write_trajectory(path, t, frames, nrow):
    """One GIF frame per grid time: the image grid at that point of the reverse process."""
    import matplotlib

    matplotlib.use("Agg")
    from simdiff.generative.data import image_grid
    from simdiff.viz.animation import _write_gif

    if Path(path).suffix.lower() != ".gif":
        raise CommandError(f"--trajectory {path!r}: write a .gif.")
    imgs = []
    for y in frames:
        g = image_grid(y, nrow=nrow)
        imgs.append(_to_rgb8(g))
    imgs += [imgs[-1]] * 5                       # hold the result
    _write_gif(imgs, str(path), fps=8)


def _to_rgb8(g):
    import numpy as np

    rgb = np.repeat(g[..., None], 3, axis=2) if g.ndim == 2 else g
    rep = max(1, 256 // rgb.shape[0])
    rgb = rgb.repeat(rep, axis=0).repeat(rep, axis=1)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _forward(net, name, n, seed, out, trajectory, scale):
    """Real images noised by the model's forward process at 8 times from 0 to T (rows: images)."""
    import numpy as np
    import torch

    from simdiff.generative.data import load_dataset, save_image_grid

    info = net.meta.get("data") or {}
    spec = info.get("name") or name
    try:
        data = load_dataset(spec, **(info.get("options") or {}))
    except Exception as err:                       # noqa: BLE001 - any data set problem is one line
        raise CommandError(f"--forward needs the model's data set ({spec!r}): {err}") from None
    rows = min(n, 8)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.images), generator=gen)[:rows]
    x0 = data.images[idx].float()
    sde = net.sde
    times = np.linspace(0.0, sde.T, 8)
    eps = torch.randn(x0.shape, generator=gen)
    cols = []
    for t in times:
        xt, _ = sde.noise(x0, torch.full((rows,), float(t)), eps=eps)
        cols.append(xt.clamp(-1, 1))
    grid = torch.stack(cols, dim=1).reshape(-1, *x0.shape[1:])       # row-major: image, then time
    h = x0.shape[-1]
    save_image_grid(out, grid, nrow=len(times), scale=scale or max(1, 256 // (h * len(times)) + 1))
    if trajectory is not None:
        frames = torch.stack(cols)                                  # (times, rows, C, H, W)
        _write_trajectory(trajectory, times, frames, rows)
    click.echo(f"forward noising of {rows} {spec} images under {type(sde).__name__} at t = "
               f"{', '.join(f'{t:.2f}' for t in times)}: wrote {out}" + (f" and {trajectory}" if trajectory else "") + ".")


# ------------------------------------------------------------------------------------------------
# evaluate

@click.command()
@click.argument("model", required=False)
@click.option("--n", type=int, default=1000, show_default=True, help="Generated images (balanced over classes).")
@click.option("--guidance", type=float, default=None, help="Classifier-free guidance scale (default 1).")
@click.option("--sampler", default="dpm++2m", show_default=True)
@click.option("--steps", type=int, default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch", type=int, default=500, show_default=True, help="Images per sampling batch.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
def evaluate(model, n, guidance, sampler, steps, seed, batch, device):
    """Score a digits model offline: FID-digits, confidence, conditional accuracy, class coverage.

    FID-digits is the Frechet distance between features of the shipped digit classifier on
    generated and on held-out real images (no download). MODEL as for `simdiff generate`.
    """
    require_torch("evaluate")
    _threads()
    import torch

    from simdiff.generative import sample
    from simdiff.generative.metrics import evaluate_digits

    net, name = _load_model(model, device)
    res = net.config["resolution"]
    data_name = (getattr(net, "meta", {}).get("data") or {}).get("name")
    dataset = {8: "digits", 28: "mnist"}.get(res)
    textures = data_name == "patterns"
    if not textures and (dataset is None or net.config.get("in_channels", 1) != 1):
        raise CommandError(f"evaluate scores digit models (1x8x8 digits, 1x28x28 mnist) and pattern-texture "
                           f"models; {name!r} makes {net.config.get('in_channels', 1)}x{res}x{res} images of "
                           f"{data_name or 'unknown data'}.")
    labels = _labels_for(net, None, n)
    if labels is not None and guidance is None:
        guidance = 1.0
    dev = next(net.parameters()).device
    t0 = time.perf_counter()
    xs = []
    for k in range(0, n, batch):
        lab = None if labels is None else torch.tensor(labels[k:k + batch], device=dev)
        m = min(batch, n - k)
        xs.append(sample(net, net.sde, (m, *_image_shape(net)), method=sampler, steps=steps, seed=seed + k,
                         clip=(-1.0, 1.0),
                         device=dev, label=lab, guidance=guidance if lab is not None else None).clamp(-1, 1).cpu())
    x = torch.cat(xs)
    dt = time.perf_counter() - t0
    if textures:
        scores = _texture_scores(net, x, labels)
    else:
        scores = evaluate_digits(x, torch.tensor(labels) if labels is not None else None, dataset=dataset)
    click.echo(f"{name}: {n} images, {sampler} {steps} steps"
               f"{f', guidance {guidance:g}' if labels else ''}, sampled in {dt:.1f} s")
    for key, val in scores.items():
        if isinstance(val, float):
            click.echo(f"  {key:>18s}: {val:.4f}")
        elif isinstance(val, int):
            click.echo(f"  {key:>18s}: {val}")


def _texture_scores(net, x, labels):
    """Texture FID of generated vs real pattern images (all, and per class), with the real-vs-real
    floor: the two halves of the real set compared the same way."""
    import torch

    from simdiff.generative.data import load_dataset
    from simdiff.generative.metrics import texture_fid

    info = net.meta.get("data") or {}
    real = load_dataset("patterns", **(info.get("options") or {}))
    half = len(real) // 2
    perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))
    a, b = real.images[perm[:half]], real.images[perm[half:]]
    out = {"texture_fid": texture_fid(x, real.images), "texture_fid_floor": texture_fid(a, b)}
    if labels is not None:
        lab = torch.tensor(labels)
        per = [texture_fid(x[lab == k], real.images[real.labels == k]) for k in range(net.num_classes)
               if int((lab == k).sum()) > 2]
        out["texture_fid_per_class"] = float(sum(per) / len(per))
    return out
