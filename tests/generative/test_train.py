"""Training: the schedule, exact resumption (also after Ctrl-C), and a loss that falls on digits."""
import csv
import math
import os
import signal

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from simdiff.errors import InputError  # noqa: E402
from simdiff.generative import VPSDE  # noqa: E402
from simdiff.generative.checkpoint import load_model  # noqa: E402
from simdiff.generative.nets import UNet  # noqa: E402
from simdiff.generative.train import Trainer, lr_at  # noqa: E402

pytestmark = pytest.mark.torch


def _data(n=96):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    return x, torch.arange(n) % 3


def _net(**kw):
    torch.manual_seed(0)
    return UNet(resolution=8, base_channels=8, num_res_blocks=1, num_heads=2, **kw)


# conditional with dropout: exercises every random stream (order, noise, label dropout, net dropout)
SETTINGS = dict(batch_size=16, lr=1e-3, warmup=3, total_steps=40, ema_decay=0.9, cond_drop=0.3, seed=3,
                device="cpu", progress=False, log_every=2, checkpoint_every=None)


def _trainer(out=None, **kw):
    x, y = _data()
    return Trainer(_net(num_classes=3, dropout=0.2), VPSDE(), x, y, out=out, **{**SETTINGS, **kw})


def _assert_same_state(a: Trainer, b: Trainer):
    assert a.step == b.step
    for (k, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(p, q), k
    for p, q in zip(a.ema.model.state_dict().values(), b.ema.model.state_dict().values()):
        assert torch.equal(p, q)
    sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)


def test_lr_schedule():
    assert lr_at(0, 1.0, 4, 20) == 0.25 and lr_at(3, 1.0, 4, 20) == 1.0
    assert lr_at(4, 1.0, 4, 20) == 1.0
    assert math.isclose(lr_at(12, 1.0, 4, 20), 0.5)                  # half way through the cosine
    assert lr_at(20, 1.0, 4, 20) == 0.0


def test_resume_is_exact(tmp_path):
    whole = _trainer()
    whole.fit(11)

    first = _trainer(out=tmp_path)
    first.fit(4)                                    # mid-epoch: 6 batches of 16 make an epoch
    torch.rand(5)                                   # other code drawing from the global generator
    with open(tmp_path / "log.csv", "a") as fh:     # a row logged after the checkpoint, before a crash
        fh.write("6,0.5,0.001,100\n")
    resumed = Trainer.resume(tmp_path, data=_data()[0], labels=_data()[1], device="cpu", progress=False)
    assert resumed.step == 4 and resumed.batch_size == 16
    resumed.fit(7)
    _assert_same_state(resumed, whole)
    with open(tmp_path / "log.csv") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [2, 4, 6, 8, 10]


def test_ctrl_c_writes_a_checkpoint_and_resumes_exactly(tmp_path):
    whole = _trainer()
    whole.fit(9)

    def interrupt(trainer):
        if trainer.step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    run = _trainer(out=tmp_path, callback=interrupt)
    with pytest.raises(KeyboardInterrupt):
        run.fit(9)
    assert run.step == 4 and load_model(tmp_path)[0] is not None
    resumed = Trainer.resume(tmp_path, data=_data()[0], labels=_data()[1], device="cpu", progress=False)
    resumed.fit(5)
    _assert_same_state(resumed, whole)


def test_loss_falls_on_digits(tmp_path):
    pytest.importorskip("sklearn")
    from simdiff.generative.data import digits

    torch.manual_seed(0)
    net = UNet(resolution=8, base_channels=16, num_res_blocks=1)
    trainer = Trainer(net, VPSDE(), digits(), batch_size=32, lr=2e-3, warmup=20, total_steps=200, log_every=20,
                      device="cpu", progress=False, out=tmp_path, sample_every=200, n_samples=9, sample_steps=4)
    rows = trainer.fit()
    first, last = rows[0]["loss"], min(r["loss"] for r in rows[-3:])
    # an untrained eps-net predicts 0: loss 1; a denoiser that learned the digits' structure is far below
    assert first > 0.4 and last < 0.5 * first, rows
    assert all(r["images_per_s"] > 0 for r in rows)
    assert (tmp_path / "samples" / "step_0000200.png").is_file()
    net2, sde = load_model(tmp_path)
    assert net2.config == net.config and sde.to_dict() == VPSDE().to_dict()
    resumed = Trainer.resume(tmp_path, device="cpu", progress=False)    # reloads digits from model.json
    assert resumed.step == 200 and resumed.data.shape == (1797, 1, 8, 8)


def test_errors(tmp_path):
    x, y = _data()
    kw = dict(device="cpu", batch_size=8, progress=False)
    with pytest.raises(InputError, match="no labels"):
        Trainer(_net(num_classes=3), VPSDE(), x, **kw)
    with pytest.raises(InputError, match="num_classes=2"):
        Trainer(_net(num_classes=2), VPSDE(), x, y, **kw)
    with pytest.raises(InputError, match="amp='bf16' needs a CUDA"):
        Trainer(_net(), VPSDE(), x, amp="bf16", **kw)
    with pytest.raises(InputError, match="batch_size=200"):
        Trainer(_net(), VPSDE(), x, **{**kw, "batch_size": 200})
    tr = Trainer(_net(), VPSDE(), x, total_steps=5, out=tmp_path, **kw)
    with pytest.raises(InputError, match="total_steps=5"):
        tr.fit(6)
    tr.save()
    with pytest.raises(InputError, match="passed as a tensor"):
        Trainer.resume(tmp_path, device="cpu")
    with pytest.raises(InputError, match="unknown setting"):
        Trainer.resume(tmp_path, data=x, device="cpu", learning_rate=1.0)
