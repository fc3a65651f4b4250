"""Model checkpoints: what is saved comes back, and every damaged or missing file is named."""
import json
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from simdiff.errors import CheckpointError  # noqa: E402
from simdiff.generative import VPSDE, DDPMChain  # noqa: E402
from simdiff.generative.checkpoint import (load_model, read_checkpoint, rng_state, save_checkpoint,  # noqa: E402
                                           set_rng_state)
from simdiff.generative.ema import EMA  # noqa: E402
from simdiff.generative.nets import UNet  # noqa: E402

pytestmark = pytest.mark.torch


def _trained(seed=0, **kw):
    torch.manual_seed(seed)
    net = UNet(resolution=8, base_channels=8, num_res_blocks=1, num_heads=2, **kw)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    ema = EMA(net, decay=0.9)
    for _ in range(3):
        loss = (net(torch.randn(4, 1, 8, 8), torch.rand(4)) - 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(net)
    return net, opt, ema


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_samples_with_the_ema_weights(tmp_path):
    net, opt, ema = _trained(num_classes=3, prediction="v")
    sde = VPSDE(beta_min=0.2, beta_max=15.0)
    save_checkpoint(tmp_path / "run", net, sde, step=3, optimizer=opt, ema=ema, extra={"note": "x"},
                    data={"name": "digits"})
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["model.json", "state.pt", "weights.safetensors"]
    loaded, sde2 = load_model(tmp_path / "run")
    assert not loaded.training and sde2.to_dict() == sde.to_dict()
    assert loaded.config == net.config and loaded.prediction == "v" and loaded.null_label == 3
    assert _same_weights(loaded, ema.model) and not _same_weights(loaded, net)
    # the same model from its model.json, and from its weights file
    assert _same_weights(load_model(tmp_path / "run" / "model.json")[0], ema.model)
    assert _same_weights(load_model(tmp_path / "run" / "weights.safetensors")[0], ema.model)
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["step"] == 3 and meta["weights_kind"] == "ema" and meta["extra"] == {"note": "x"}
    assert meta["data"] == {"name": "digits"} and meta["sde"]["type"] == "VPSDE"
    meta, state = read_checkpoint(tmp_path / "run")
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state["net"].items())
    assert state["optimizer"]["state"] and state["ema"]["updates"] == 3


def test_without_ema_the_raw_weights_are_saved(tmp_path):
    net, _, _ = _trained()
    save_checkpoint(tmp_path, net, DDPMChain(steps=100), step=0)
    loaded, sde = load_model(tmp_path)
    assert _same_weights(loaded, net) and isinstance(sde, DDPMChain)


def test_rng_state_round_trip():
    state = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


@pytest.fixture
def ckpt(tmp_path):
    net, opt, ema = _trained()
    save_checkpoint(tmp_path, net, VPSDE(), step=7, optimizer=opt, ema=ema)
    return tmp_path


def test_truncated_weights(ckpt):
    f = ckpt / "weights.safetensors"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"weights\.safetensors.*(corrupt|truncated)"):
        load_model(ckpt)


def test_garbage_json(ckpt):
    (ckpt / "model.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"model\.json.*not valid JSON"):
        load_model(ckpt)
    (ckpt / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not a simdiff model file"):
        load_model(ckpt)


@pytest.mark.parametrize("name", ["model.json", "weights.safetensors"])
def test_missing_file(ckpt, name):
    (ckpt / name).unlink()
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.") + ".*missing"):
        load_model(ckpt)


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nowhere")


def test_files_from_different_saves_are_refused(ckpt, tmp_path):
    other = tmp_path / "other"
    net, opt, ema = _trained(seed=1)
    save_checkpoint(other, net, VPSDE(), step=9, optimizer=opt, ema=ema)
    (ckpt / "weights.safetensors").write_bytes((other / "weights.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="different saves"):
        load_model(ckpt)
    (ckpt / "state.pt").write_bytes((other / "state.pt").read_bytes())
    with pytest.raises(CheckpointError, match="different saves"):
        read_checkpoint(ckpt)


def test_weights_of_another_net_are_refused(ckpt):
    meta = json.loads((ckpt / "model.json").read_text())
    meta["net"]["base_channels"] = 16
    (ckpt / "model.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit the network"):
        load_model(ckpt)


def test_truncated_training_state(ckpt):
    f = ckpt / "state.pt"
    f.write_bytes(f.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"state\.pt.*corrupt"):
        read_checkpoint(ckpt)
