"""simdiff.viz: figures of 1D/2D/3D fields, frame sheets and movies, written atomically."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from simdiff import InputError
from simdiff.pde import Grid, Mask
from simdiff.viz import animate, plot_field, plot_frames

PNG = b"\x89PNG\r\n\x1a\n"
SHAPES = {1: (40,), 2: (24, 16), 3: (10, 12, 8)}


def gaussian_frames(grid: Grid, n: int = 5):
    """Frames of the heat kernel in free space: a Gaussian spreading with variance s0² + 2 D t."""
    t = np.linspace(0.0, 1.0, n)
    mesh = grid.mesh()
    r2 = sum((x - 0.5 * (lo + hi)) ** 2 for x, lo, hi in zip(mesh, grid.lo, grid.hi))
    var = 0.01 + 2 * 0.01 * t
    frames = np.stack([(0.01 / v) ** (grid.ndim / 2) * np.exp(-r2 / (2 * v)) for v in var])
    return t, frames


@pytest.fixture(params=[1, 2, 3], ids=["1d", "2d", "3d"])
def grid(request):
    return Grid(SHAPES[request.param], extent=1.0)


def test_import_does_not_load_matplotlib():
    code = "import sys, simdiff.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_plot_field_draws_and_saves(grid, tmp_path):
    _, frames = gaussian_frames(grid)
    axes = plot_field(frames[-1], grid, title="t = 1")
    axes = axes if isinstance(axes, tuple) else (axes,)
    assert len(axes) == (3 if grid.ndim == 3 else 1)
    fig = axes[0].figure
    path = tmp_path / "field.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG
    if grid.ndim == 1:
        assert axes[0].get_title() == "t = 1" and axes[0].get_xlabel() == "x"
        np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), frames[-1])
    else:
        assert len(fig.axes) == len(axes) + 1                    # one colorbar
        assert axes[0].get_title().startswith("t = 1")
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plot_field_2d_orientation():
    """Axis 0 of the field is x (horizontal), axis 1 is y (up), in grid units."""
    import matplotlib.pyplot as plt

    grid = Grid((6, 4), extent=[(0.0, 3.0), (-1.0, 1.0)])
    x, y = grid.mesh()
    ax = plot_field(x + 10 * y, grid)
    im = ax.images[0]
    assert im.origin == "lower"
    assert tuple(im.get_extent()) == (0.0, 3.0, -1.0, 1.0)
    np.testing.assert_array_equal(im.get_array(), (x + 10 * y).T)   # rows are y, columns x
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    plt.close(ax.figure)


def test_plot_field_mask_blanks_outside():
    import matplotlib.pyplot as plt

    grid = Grid((20, 20))
    mask = Mask.from_function(grid, lambda x, y: (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1)
    ax = plot_field(np.ones(grid.shape), grid, mask=mask)
    data = ax.images[0].get_array()
    np.testing.assert_array_equal(np.ma.getmaskarray(data), ~mask.inside.T)
    plt.close(ax.figure)


def test_plot_field_rejects_bad_input():
    grid = Grid((10, 10, 10))
    with pytest.raises(InputError, match="shape"):
        plot_field(np.zeros((10, 10)), grid)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    with pytest.raises(InputError, match="3 axes"):
        plot_field(np.zeros(grid.shape), grid, ax=ax)
    plt.close(fig)


def test_plot_frames_writes_png(grid, tmp_path):
    t, frames = gaussian_frames(grid, 9)
    path = tmp_path / "frames.png"
    assert plot_frames(t, frames, grid, path, n=4, title="heat kernel") == str(path)
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
    assert os.listdir(tmp_path) == ["frames.png"]                # no temporary left behind


def test_plot_frames_rejects_frames_of_another_grid(tmp_path):
    grid = Grid((8, 8))
    with pytest.raises(InputError, match="time first"):
        plot_frames(np.arange(3.0), np.zeros((3, 8, 9)), grid, tmp_path / "x.png")
    assert not any(tmp_path.iterdir())


def test_animate_writes_one_gif_frame_per_saved_frame(grid, tmp_path):
    from PIL import Image

    t, frames = gaussian_frames(grid, 7)
    path = tmp_path / "movie.gif"
    assert animate(t, frames, grid, path, fps=5) == str(path)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 7
        assert im.info["duration"] == 200
    assert os.listdir(tmp_path) == ["movie.gif"]


def test_animate_caps_the_frame_count(tmp_path):
    from PIL import Image

    grid = Grid((16,))
    t = np.linspace(0.0, 1.0, 150)
    frames = np.sin(np.pi * grid.coords(0))[None] * np.exp(-t)[:, None]
    animate(t, frames, grid, tmp_path / "long.gif", max_frames=100, dpi=20)
    with Image.open(tmp_path / "long.gif") as im:
        assert im.n_frames == 100


def test_animate_mp4_without_ffmpeg_says_so(tmp_path, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    grid = Grid((8,))
    with pytest.raises(InputError, match="ffmpeg.*\\.gif"):
        animate(np.arange(2.0), np.zeros((2, 8)), grid, tmp_path / "m.mp4")
    with pytest.raises(InputError, match=r"\.gif.*\.mp4"):
        animate(np.arange(2.0), np.zeros((2, 8)), grid, tmp_path / "m.avi")
    assert not any(tmp_path.iterdir())


def _has_ffmpeg() -> bool:
    from matplotlib import animation

    return animation.writers.is_available("ffmpeg")


@pytest.mark.skipif(not _has_ffmpeg(), reason="ffmpeg is not installed")
def test_animate_mp4(tmp_path):
    grid = Grid((9, 7))                         # odd sizes: the frames are padded to even for yuv420p
    t, frames = gaussian_frames(grid, 4)
    path = animate(t, frames, grid, tmp_path / "m.mp4", dpi=37)
    assert open(path, "rb").read(12)[4:8] == b"ftyp"
    assert os.listdir(tmp_path) == ["m.mp4"]
