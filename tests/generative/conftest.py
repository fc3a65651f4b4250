import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The generative tests run many small tensor operations: one thread avoids thread-pool overhead
    (and oversubscription when the machine is busy)."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
