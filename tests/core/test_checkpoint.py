"""Checkpoints: an interrupted and resumed solve gives the uninterrupted run's bits; seeds give bits.

An interruption is simulated by raising KeyboardInterrupt (what Ctrl-C raises) from a callback at a
saved frame, or from the drift in the middle of a frame; ``solve`` then writes a checkpoint.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import simdiff
from simdiff import CheckpointError
from simdiff.core import checkpoint as ckpt


@simdiff.kernel
def ou_drift(t, y, out, p, ip):
    for i in range(y.size):
        out[i] = -p[0] * y[i]


def pendulum(t, y):
    return np.stack([y[1], -np.sin(y[0])])


def interrupt_at(frame: int):
    """A callback that presses Ctrl-C when frame number ``frame`` (0-based) is saved."""
    seen = [0]

    def cb(t, y):
        if seen[0] == frame:
            raise KeyboardInterrupt
        seen[0] += 1

    return cb


def copy_checkpoint_at(frame: int, path, dest):
    """A callback that copies the checkpoint file as it is when frame ``frame`` is saved.

    Callbacks run before the frame's own checkpoint is written, so the copy is the checkpoint that
    a run killed outright (no Ctrl-C handler) would leave: the one written at frame ``frame - 1``.
    """
    seen = [0]

    def cb(t, y):
        if seen[0] == frame:
            shutil.copyfile(path, dest)
        seen[0] += 1

    return cb


def equal(a, b) -> bool:
    if type(a).__module__.startswith("torch"):
        import torch

        return bool(torch.equal(a, b))
    return np.array_equal(a, b)


# Each case: problem, y0, t_span, solve keywords, expected path. Built lazily (torch is optional).
def _case(name):
    if name == "ode-dopri5":
        return simdiff.ODE(pendulum), np.array([1.0, 0.0]), (0.0, 10.0), \
            dict(method="dopri5", save_at=8, rtol=1e-8), "generic"
    if name == "sde-em-generic":
        sde = simdiff.SDE(lambda t, y: -y, lambda t, y: 0.3 + 0.1 * y, noise="diagonal")
        return sde, np.ones(50), (0.0, 1.0), dict(method="euler_maruyama", dt=0.01, save_at=11, seed=3), "generic"
    if name == "sde-em-compiled":
        sde = simdiff.SDE(simdiff.Kernel(ou_drift, p=[2.0]), 0.5)
        return sde, np.ones(50), (0.0, 1.0), dict(method="euler_maruyama", dt=0.01, save_at=11, seed=3), "compiled"
    if name == "sde-fgn-generic":
        sde = simdiff.SDE(lambda t, y: -y, 0.5, driver=simdiff.FractionalGaussian(0.7))
        return sde, np.ones(50), (0.0, 1.0), dict(dt=0.01, save_at=11, seed=3), "generic"
    if name == "sde-fgn-compiled":
        sde = simdiff.SDE(simdiff.Kernel(ou_drift, p=[2.0]), 0.5, driver=simdiff.FractionalGaussian(0.3))
        return sde, np.ones(50), (0.0, 1.0), dict(dt=0.01, save_at=11, seed=3), "compiled"
    if name == "sde-stable-compiled":
        sde = simdiff.SDE(simdiff.Kernel(ou_drift, p=[2.0]), 0.5, driver=simdiff.AlphaStable(1.5, 0.3))
        return sde, np.ones(50), (0.0, 1.0), dict(dt=0.01, save_at=11, seed=3), "compiled"
    if name.startswith("sde-torch"):
        torch = pytest.importorskip("torch")
        dtype = torch.float32 if name.endswith("32") else torch.float64
        sde = simdiff.SDE(lambda t, y: -y, lambda t, y: 0.3 + 0.1 * y, noise="diagonal")
        return sde, torch.ones(50, dtype=dtype), (0.0, 1.0), dict(dt=0.01, save_at=11, seed=3), "generic"
    raise KeyError(name)


CASES = ["sde-em-generic", "sde-em-compiled", "sde-fgn-generic", "sde-fgn-compiled",
         "sde-stable-compiled", "sde-torch", "sde-torch32"]


def assert_same_run(ref, res):
    assert equal(ref.y, res.y), "resumed run differs from the uninterrupted run"
    assert np.array_equal(ref.t, res.t)
    assert (res.stats.steps, res.stats.nfe, res.stats.nge, res.stats.rejected) == \
        (ref.stats.steps, ref.stats.nfe, ref.stats.nge, ref.stats.rejected)


@pytest.mark.parametrize("frame", [1, 4])
@pytest.mark.parametrize("name", ["ode-dopri5"] + CASES)
def test_ctrl_c_at_a_frame_then_resume_gives_the_same_bits(name, frame, tmp_path):
    problem, y0, t_span, kw, path_kind = _case(name)
    ref = simdiff.solve(problem, y0, t_span, **kw)
    assert ref.stats.path == path_kind
    path = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):
        simdiff.solve(problem, y0, t_span, checkpoint=path, checkpoint_every=1,
                      callbacks=[interrupt_at(frame)], **kw)
    meta, arrays = ckpt.load(path)
    assert meta["k"] == frame and meta["version"] == simdiff.__version__
    if frame:
        np.testing.assert_array_equal(arrays["frames_y"], np.asarray(ref.y[:frame]))
    res = simdiff.solve(problem, y0, t_span, resume=path, **kw)
    assert_same_run(ref, res)
    assert os.listdir(tmp_path) == ["run.ckpt"]


@pytest.mark.parametrize("name", ["ode-dopri5"] + CASES)
def test_resume_from_the_last_periodic_checkpoint(name, tmp_path):
    """A run killed without Ctrl-C handling leaves the checkpoint of its last completed frame."""
    problem, y0, t_span, kw, _ = _case(name)
    ref = simdiff.solve(problem, y0, t_span, **kw)
    path, kept = tmp_path / "run.ckpt", tmp_path / "kept.ckpt"
    full = simdiff.solve(problem, y0, t_span, checkpoint=path, checkpoint_every=1,
                         callbacks=[copy_checkpoint_at(5, path, kept)], **kw)
    assert equal(full.y, ref.y)                      # checkpointing does not change the run
    assert ckpt.load(kept)[0]["k"] == 5
    res = simdiff.solve(problem, y0, t_span, resume=kept, **kw)
    assert_same_run(ref, res)


@pytest.mark.parametrize("name", ["ode-dopri5", "sde-em-generic",
                                  "sde-fgn-generic", "sde-torch"])
def test_ctrl_c_inside_a_frame_then_resume_gives_the_same_bits(name, tmp_path):
    """Ctrl-C in the middle of a frame: the checkpoint goes back to the frame's start."""
    problem, y0, t_span, kw, _ = _case(name)
    ref = simdiff.solve(problem, y0, t_span, **kw)
    calls = [0]
    inner = problem.rhs if problem.kind == "ode" else problem.drift

    def drift_pressing_ctrl_c(t, y):
        calls[0] += 1
        if calls[0] == ref.stats.nfe // 2:
            raise KeyboardInterrupt
        return inner(t, y)

    field = "rhs" if problem.kind == "ode" else "drift"
    interrupted = type(problem)(**{**{f: getattr(problem, f) for f in problem.__dataclass_fields__},
                                   field: drift_pressing_ctrl_c})
    path = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):
        simdiff.solve(interrupted, y0, t_span, checkpoint=path, checkpoint_every=3, **kw)
    assert 0 < ckpt.load(path)[0]["k"] < len(ref.t)
    res = simdiff.solve(problem, y0, t_span, resume=path, checkpoint=path, **kw)
    assert_same_run(ref, res)
    # the resumed run kept checkpointing: its last checkpoint is the finished run
    again = simdiff.solve(problem, y0, t_span, resume=path, **kw)
    assert equal(again.y, ref.y) and again.stats.steps == ref.stats.steps


def test_checkpoint_every_n_frames_writes_the_file(tmp_path):
    problem, y0, t_span, kw, _ = _case("sde-em-compiled")
    path = tmp_path / "sub" / "run.ckpt"                  # the folder is created
    sol = simdiff.solve(problem, y0, t_span, checkpoint=path, checkpoint_every=4, **kw)
    meta, arrays = ckpt.load(path)
    assert meta["k"] == len(sol.t) == 11                  # the last frame is always written
    np.testing.assert_array_equal(arrays["frames_y"], sol.y)
    np.testing.assert_array_equal(arrays["y"], sol.y[-1])
    assert os.listdir(path.parent) == ["run.ckpt"]


# --------------------------------------------------------------------------------------------
# Refusals

@pytest.mark.parametrize("change, setting", [
    (dict(dt=0.02), "dt"),
    (dict(method="milstein"), "method"),
    (dict(save_at=6), "save_at"),
    (dict(t_span=(0.0, 2.0)), "t_span"),
    (dict(y0=np.ones(40)), "shape"),
])
def test_resume_with_other_settings_is_refused(change, setting, tmp_path):
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    path = tmp_path / "run.ckpt"
    simdiff.solve(problem, y0, t_span, checkpoint=path, **kw)
    args = dict(kw, y0=y0, t_span=t_span)
    args.update(change)
    with pytest.raises(CheckpointError) as ei:
        simdiff.solve(problem, args.pop("y0"), args.pop("t_span"), resume=path, **args)
    assert setting in str(ei.value)


def test_resume_on_another_backend_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    path = tmp_path / "run.ckpt"
    simdiff.solve(problem, y0, t_span, checkpoint=path, **kw)
    with pytest.raises(CheckpointError, match="dtype|array type"):
        simdiff.solve(problem, torch.ones(50, dtype=torch.float64), t_span, resume=path, **kw)


def test_resume_with_another_driver_is_refused(tmp_path):
    _, y0, t_span, kw, _ = _case("sde-fgn-generic")
    path = tmp_path / "run.ckpt"
    fgn = simdiff.SDE(lambda t, y: -y, 0.5, driver=simdiff.FractionalGaussian(0.7))
    simdiff.solve(fgn, y0, t_span, checkpoint=path, callbacks=[], **kw)
    other = simdiff.SDE(lambda t, y: -y, 0.5, driver=simdiff.FractionalGaussian(0.3))
    with pytest.raises(CheckpointError, match="driver"):
        simdiff.solve(other, y0, t_span, resume=path, **kw)


def _real_checkpoint(tmp_path):
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    path = tmp_path / "good.ckpt"
    simdiff.solve(problem, y0, t_span, checkpoint=path, **kw)
    return path


def _write_bytes(path, data):
    with open(path, "wb") as fh:
        fh.write(data)
    return path


@pytest.mark.parametrize("kind", ["random-bytes", "empty", "truncated", "npy-array", "meta-not-object",
                                  "no-meta", "wrong-format", "directory"])
def test_corrupt_checkpoint_is_a_checkpoint_error(kind, tmp_path):
    import json

    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    path = tmp_path / "bad.ckpt"
    if kind == "random-bytes":
        _write_bytes(path, np.random.default_rng(0).bytes(4096))
    elif kind == "empty":
        _write_bytes(path, b"")
    elif kind == "truncated":
        data = _real_checkpoint(tmp_path).read_bytes()
        _write_bytes(path, data[: len(data) // 2])
    elif kind == "npy-array":
        with open(path, "wb") as fh:
            np.save(fh, np.arange(5.0))
    elif kind == "meta-not-object":
        with open(path, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(json.dumps([1, 2]).encode(), dtype=np.uint8))
    elif kind == "no-meta":
        with open(path, "wb") as fh:
            np.savez(fh, y=np.ones(3))
    elif kind == "wrong-format":
        meta = json.dumps({"format": "something-else-7"}).encode()
        with open(path, "wb") as fh:
            np.savez(fh, meta=np.frombuffer(meta, dtype=np.uint8))
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(CheckpointError) as ei:
        simdiff.solve(problem, y0, t_span, resume=path, **kw)
    assert "bad.ckpt" in str(ei.value)


def test_missing_checkpoint_is_a_checkpoint_error(tmp_path):
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    with pytest.raises(CheckpointError, match="does not exist"):
        simdiff.solve(problem, y0, t_span, resume=tmp_path / "nowhere.ckpt", **kw)


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_failure(tmp_path):
    path = tmp_path / "data.bin"
    ckpt.atomic_write(path, lambda fh: fh.write(b"old"))

    def failing(fh):
        fh.write(b"half of the new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ckpt.atomic_write(path, failing)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_no_temporary_files_after_interrupted_and_finished_runs(tmp_path):
    problem, y0, t_span, kw, _ = _case("sde-em-compiled")
    path = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):
        simdiff.solve(problem, y0, t_span, checkpoint=path, callbacks=[interrupt_at(6)], **kw)
    assert os.listdir(tmp_path) == ["run.ckpt"]
    simdiff.solve(problem, y0, t_span, checkpoint=path, checkpoint_every=1, resume=path, **kw)
    assert os.listdir(tmp_path) == ["run.ckpt"]


# --------------------------------------------------------------------------------------------
# Seeds

SEED_CASES = ["sde-em-generic", "sde-em-compiled", "sde-fgn-generic", "sde-stable-compiled", "sde-torch"]


@pytest.mark.parametrize("name", SEED_CASES)
def test_same_seed_same_bits_different_seed_different_bits(name):
    problem, y0, t_span, kw, _ = _case(name)
    kw = {k: v for k, v in kw.items() if k != "seed"}
    a = simdiff.solve(problem, y0, t_span, seed=11, **kw)
    b = simdiff.solve(problem, y0, t_span, seed=11, **kw)
    c = simdiff.solve(problem, y0, t_span, seed=12, **kw)
    assert equal(a.y, b.y)
    assert not equal(a.y[-1], c.y[-1])
    # the initial state is never touched by the seed, every later frame is
    assert equal(a.y[0], c.y[0]) and all(not equal(a.y[k], c.y[k]) for k in range(1, len(a.t)))


@pytest.mark.parametrize("name", ["sde-em-generic", "sde-em-compiled"])
def test_numpy_generator_seed_equals_int_seed(name):
    problem, y0, t_span, kw, _ = _case(name)
    kw = {k: v for k, v in kw.items() if k != "seed"}
    a = simdiff.solve(problem, y0, t_span, seed=21, **kw)
    b = simdiff.solve(problem, y0, t_span, seed=np.random.default_rng(21), **kw)
    assert np.array_equal(a.y, b.y)


def test_torch_generator_seed_equals_int_seed():
    torch = pytest.importorskip("torch")
    problem, y0, t_span, kw, _ = _case("sde-torch")
    kw = {k: v for k, v in kw.items() if k != "seed"}
    a = simdiff.solve(problem, y0, t_span, seed=21, **kw)
    b = simdiff.solve(problem, y0, t_span, seed=torch.Generator().manual_seed(21), **kw)
    assert torch.equal(a.y, b.y)


def test_state_is_restored_bit_for_bit():
    from simdiff.core import rng as _rng

    g = np.random.default_rng(5)
    s = _rng.get_state(g)
    x = g.standard_normal(10)
    _rng.set_state(g, s)
    assert np.array_equal(g.standard_normal(10), x)
    torch = pytest.importorskip("torch")
    t = _rng.make_rng(5, torch.zeros(1))
    s = _rng.get_state(t)
    x = torch.randn(10, generator=t)
    _rng.set_state(t, s)
    assert torch.equal(torch.randn(10, generator=t), x)


@pytest.mark.parametrize("seed", [-1, np.int64(-5)])
def test_negative_seed_names_the_parameter(seed):
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    kw = {k: v for k, v in kw.items() if k != "seed"}
    with pytest.raises(simdiff.InputError, match="seed"):
        simdiff.solve(problem, y0, t_span, seed=seed, **kw)


def test_bad_seed_type_names_the_parameter():
    problem, y0, t_span, kw, _ = _case("sde-em-generic")
    kw = {k: v for k, v in kw.items() if k != "seed"}
    with pytest.raises(simdiff.InputTypeError, match="seed"):
        simdiff.solve(problem, y0, t_span, seed="abc", **kw)


def test_torch_generator_on_another_device_is_refused():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    problem, _, t_span, kw, _ = _case("sde-torch")
    kw = {k: v for k, v in kw.items() if k != "seed"}
    with pytest.raises(simdiff.InputError, match="seed"):
        simdiff.solve(problem, torch.ones(5, dtype=torch.float64, device="cuda"), t_span,
                      seed=torch.Generator().manual_seed(1), **kw)
