"""The image UNet: shapes at every supported size, conditioning, JSON round trip, clear errors."""
import json

import pytest

torch = pytest.importorskip("torch")

from simdiff.errors import InputError, InputTypeError  # noqa: E402
from simdiff.generative import VPSDE, sample  # noqa: E402
from simdiff.generative.nets import Net, UNet, build  # noqa: E402
from simdiff.generative.nets.unet import default_channel_mult, timestep_embedding  # noqa: E402

pytestmark = pytest.mark.torch


def _perturbed(net, seed=0):
    """The zero-initialised output layers make an untrained net predict 0: give every weight a value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net


@pytest.mark.parametrize("size, channels", [(8, 1), (16, 3), (28, 1), (32, 3), (7, 1), (13, 3)])
def test_output_shape_every_size(size, channels):
    net = UNet(resolution=size, in_channels=channels, base_channels=8, num_res_blocks=1, num_heads=2)
    x = torch.randn(3, channels, size, size)
    y = _perturbed(net)(x, torch.rand(3))
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_levels_follow_the_resolution():
    assert default_channel_mult(8) == (1, 2)
    assert default_channel_mult(16) == (1, 2, 2)
    assert default_channel_mult(28) == (1, 2, 2)            # 28 -> 14 -> 7
    assert default_channel_mult(32) == (1, 2, 2, 2)
    assert default_channel_mult(64) == (1, 2, 2, 4)
    net = UNet(resolution=28, base_channels=8, num_heads=2)
    assert net.config["attn_resolutions"] == [14, 7]


def test_conditional_null_label_and_label_effect():
    net = _perturbed(UNet(resolution=8, base_channels=8, num_res_blocks=1, num_classes=10, num_heads=2)).eval()
    assert net.conditional and net.null_label == 10 and net.num_classes == 10
    x, t = torch.randn(4, 1, 8, 8), torch.full((4,), 0.5)
    with torch.no_grad():
        none = net(x, t)
        null = net(x, t, label=torch.full((4,), 10))
        three = net(x, t, label=3)
        other = net(x, t, label=torch.tensor([3, 4, 5, 6]))
    assert torch.equal(none, null)
    assert not torch.allclose(three, null)
    assert torch.equal(three[0], other[0]) and not torch.allclose(three[1], other[1])


def test_untrained_net_predicts_zero_and_time_matters():
    net = UNet(resolution=8, base_channels=8, num_heads=2)
    x = torch.randn(2, 1, 8, 8)
    assert torch.count_nonzero(net(x, torch.rand(2))) == 0            # zero-initialised output conv
    net = _perturbed(net).eval()
    with torch.no_grad():
        a, b = net(x, torch.full((2,), 0.1)), net(x, torch.full((2,), 0.9))
    assert not torch.allclose(a, b)


def test_time_embedding_is_the_sinusoid_of_1000_t():
    emb = timestep_embedding(torch.tensor([0.0, 2.0]), 8)
    freqs = torch.exp(-torch.log(torch.tensor(10_000.0)) * torch.arange(4) / 4)
    torch.testing.assert_close(emb[1], torch.cat([torch.cos(2 * freqs), torch.sin(2 * freqs)]))
    assert torch.equal(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))


def test_json_round_trip_gives_the_same_net():
    net = _perturbed(UNet(resolution=16, in_channels=3, base_channels=8, channel_mult=(1, 2, 2), num_res_blocks=1,
                          attn_resolutions=(8,), num_heads=2, dropout=0.1, num_classes=5, prediction="v")).eval()
    cfg = json.loads(json.dumps(net.config))
    twin = build(cfg)
    twin.load_state_dict(net.state_dict())
    twin.eval()
    assert isinstance(twin, UNet) and isinstance(twin, Net) and twin.config == net.config
    assert twin.prediction == "v" and twin.null_label == 5
    x, t = torch.randn(2, 3, 16, 16), torch.rand(2)
    with torch.no_grad():
        assert torch.equal(twin(x, t, label=torch.tensor([0, 4])), net(x, t, label=torch.tensor([0, 4])))


def test_parameter_count():
    net = UNet(resolution=8, base_channels=32)            # the ~1M-parameter digits configuration
    assert net.n_params == sum(p.numel() for p in net.parameters())
    assert 0.9e6 < net.n_params < 1.3e6
    cond = UNet(resolution=8, base_channels=32, num_classes=10)
    assert cond.n_params - net.n_params == 11 * 4 * 32          # one embedding row per class + null


def test_samplers_run_a_guided_unet():
    net = _perturbed(UNet(resolution=8, base_channels=8, num_res_blocks=1, num_classes=3, num_heads=2)).eval()
    x = sample(net, VPSDE(), (4, 1, 8, 8), steps=3, seed=0, label=1, guidance=2.0)
    assert x.shape == (4, 1, 8, 8) and torch.isfinite(x).all()


def test_errors_name_the_parameter():
    net = UNet(resolution=8, base_channels=8, num_heads=2)
    with pytest.raises(InputError, match="resolution=8"):
        net(torch.randn(2, 1, 16, 16), torch.rand(2))
    with pytest.raises(InputError, match="unconditional"):
        net(torch.randn(2, 1, 8, 8), torch.rand(2), label=torch.tensor([0, 1]))
    with pytest.raises(InputError, match="one time per image"):
        net(torch.randn(2, 1, 8, 8), torch.rand(3))
    with pytest.raises(InputTypeError, match="torch tensor"):
        net([[0.0]], torch.rand(1))
    cond = UNet(resolution=8, base_channels=8, num_classes=4, num_heads=2)
    with pytest.raises(InputError, match="0..4"):
        cond(torch.randn(2, 1, 8, 8), torch.rand(2), label=torch.tensor([0, 5]))
    with pytest.raises(InputError, match="channel_mult"):
        UNet(resolution=8, channel_mult=(1, 2, 2, 2))            # 8 -> 4 -> 2 -> 1
    with pytest.raises(InputError, match="feature-map sides"):
        UNet(resolution=8, attn_resolutions=(16,))
    with pytest.raises(InputError, match="num_heads=3"):
        UNet(resolution=8, base_channels=8, num_heads=3)
    with pytest.raises(InputError, match="prediction"):
        UNet(resolution=8, prediction="noise")
    with pytest.raises(InputError, match="dropout"):
        UNet(resolution=8, dropout=1.5)
    with pytest.raises(InputTypeError, match="base_channels"):
        UNet(resolution=8, base_channels="wide")
