import pytest


@pytest.fixture(autouse=True, scope="session")
def _builtin_methods_loaded():
    """Load the core method table before any pde test runs. Without this, a process whose first solve
    is ADI ends up with a table holding only 'adi' (registering it fills the empty table, so the
    built-in methods are never loaded); ``test_registry.py`` tracks that bug in a fresh process."""
    import simdiff

    simdiff.methods()
