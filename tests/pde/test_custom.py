"""User-defined reaction–diffusion models: expressions and Python functions against the built-in
models, the error messages (with carets under the offending token), and the cross-process cache."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simdiff import InputError
from simdiff.pde import Grid, simulate, turing
from simdiff.pde.custom import CustomReactionDiffusion, custom_model
from simdiff.pde.rdmodels import FisherKPP, GrayScott, Schnakenberg
from simdiff.pde.reaction_diffusion import models

GS_EXPR = ["u: -u*v**2 + F*(1 - u)", "v: u*v**2 - (F + k)*v"]
GS_PARAMS = {"F": 0.035, "k": 0.065}


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory, monkeypatch):
    """Generated modules go to a per-session temporary directory, not the user's cache."""
    monkeypatch.setenv("SIMDIFF_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "simdiff-kernels"))


def gray(u, v, p):
    F, k = p
    uvv = u * v * v
    return -uvv + F * (1.0 - u), uvv - (F + k) * v


def _grid():
    return Grid((24, 20), extent=2.5, periodic=True)


# -- the maths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reactions", [GS_EXPR, gray], ids=["expressions", "function"])
@pytest.mark.parametrize("method", ["euler", "etdrk4", "crank_nicolson"])
def test_gray_scott_rhs_matches_builtin(reactions, method):
    g = _grid()
    ref = GrayScott(**GS_PARAMS)
    mine = custom_model(["u", "v"], reactions, GS_PARAMS, D=[2e-5, 1e-5])
    u = ref.initial(g, seed=3, amplitude=0.05)
    a = mine.problem(g, method=method).rhs(0.0, u)
    b = ref.problem(g, method=method).rhs(0.0, u)
    assert np.max(np.abs(a - b)) < 1e-13
    assert np.max(np.abs(mine.reaction(u) - ref.reaction(u))) < 1e-13


@pytest.mark.parametrize("reactions", [GS_EXPR, gray], ids=["expressions", "function"])
def test_gray_scott_simulation_matches_builtin(reactions):
    g = Grid((32, 32), extent=2.5, periodic=True)
    ref = GrayScott(**GS_PARAMS)
    mine = custom_model(["u", "v"], reactions, GS_PARAMS, D={"u": 2e-5, "v": 1e-5})
    u0 = ref.initial(g, seed=0)
    for method, dt in (("euler", 0.5), ("rk4", 1.0), ("etdrk4", 1.0)):
        a = simulate(mine, g, u0, 50.0, method=method, dt=dt, n_frames=3)
        b = simulate(ref, g, u0, 50.0, method=method, dt=dt, n_frames=3)
        assert a.dt == b.dt
        assert np.max(np.abs(a.y - b.y)) < 1e-12


def test_one_species_expression_and_scalar_function_match_fisher_kpp():
    g = Grid((64,), extent=20.0)
    ref = FisherKPP(r=1.5)
    u = np.clip(ref.initial(g, seed=1, amplitude=0.2), 0.0, 1.0)[None] * np.ones((1, 64))
    for reactions in ({"u": "r*u*(1 - u)"}, lambda u, p: p[0] * u * (1.0 - u)):
        mine = custom_model("u", reactions, {"r": 1.5}, D=1.0)
        assert np.max(np.abs(mine.problem(g, method="rk4").rhs(0.0, u) -
                             ref.problem(g, method="rk4").rhs(0.0, u))) < 1e-13


def test_every_function_and_time_kernel_matches_numpy_reference():
    exprs = {
        "a": "exp(-a) * sin(2*pi*t) + log(1 + b**2) - sqrt(a) * cos(b) + tanh(a - b)",
        "b": "min(a, b, c0) - max(a, 0.3) + abs(b - 0.5)**1.5 + a**-2 + sinh(0.1*b)/cosh(b) + tan(0.2*a) / k",
    }
    m = custom_model(["a", "b"], exprs, {"c0": 0.4, "k": 3.0}, D=[0.01, 0.02])
    assert m.time_dependent
    g = Grid((12, 10), extent=1.0)
    y = 0.2 + np.random.default_rng(0).random((2, 12, 10))
    k = m.problem(g, method="rk4").rhs
    for t in (0.0, 0.3):
        assert np.allclose(k(t, y), k.reference(t, y), rtol=1e-13, atol=1e-13)
    # the kernel really sees t
    assert np.max(np.abs(k(0.3, y) - k(0.0, y))) > 0.1


def test_parameters_and_diffusivities_change_without_a_new_class():
    m = custom_model(["u", "v"], GS_EXPR, GS_PARAMS, D=[2e-5, 1e-5])
    m2 = type(m)(F=0.05, D_v=3e-5)
    assert m2.params == {"F": 0.05, "k": 0.065} and m2.D == {"u": 2e-5, "v": 3e-5}
    with pytest.raises(InputError, match="unknown parameter 'G'"):
        type(m)(G=1.0)
    g = _grid()
    u = GrayScott().initial(g, seed=2)
    ref = GrayScott(F=0.05, k=0.065, D_v=3e-5)
    assert np.max(np.abs(m2.problem(g).rhs(0.0, u) - ref.problem(g).rhs(0.0, u))) < 1e-13


def test_turing_analysis_of_custom_schnakenberg_equals_builtin():
    ref = Schnakenberg()
    mine = custom_model(["u", "v"], {"u": "a - u + u**2*v", "v": "b - u**2*v"}, {"a": 0.1, "b": 0.9},
                        D=[1.0, 40.0], name="my-schnakenberg")
    assert np.allclose(mine.steady_state(), ref.steady_state(), rtol=1e-10, atol=1e-12)
    assert np.allclose(mine.jacobian(), ref.jacobian(), rtol=1e-6, atol=1e-9)
    a, b = turing.analyse(mine), turing.analyse(ref)
    assert a.turing and b.turing
    assert np.allclose(a.band, b.band, rtol=1e-6)
    assert a.wavelength == pytest.approx(b.wavelength, rel=1e-6)


def test_pickle_to_dict_and_registry():
    m = custom_model(["u", "v"], GS_EXPR, GS_PARAMS, D=[2e-5, 1e-5], name="my-gs", bc="periodic")
    assert isinstance(m, CustomReactionDiffusion) and m.name == "my-gs"
    assert "my-gs" not in models() and "custom" not in models()
    d = m.to_dict()
    json.dumps(d)
    assert d["custom"]["reactions"] == {"u": "-u * v ** 2 + F * (1 - u)", "v": "u * v ** 2 - (F + k) * v"}
    back = CustomReactionDiffusion.from_dict(d)
    assert back.to_dict() == d
    again = pickle.loads(pickle.dumps(type(m)(F=0.05)))
    assert again.params["F"] == 0.05 and again.to_dict()["custom"] == d["custom"]
    fm = custom_model(["u", "v"], gray, GS_PARAMS)
    assert fm.to_dict()["custom"]["function"].endswith("gray")
    with pytest.raises(InputError, match="Python function"):
        CustomReactionDiffusion.from_dict(fm.to_dict())


# -- errors ------------------------------------------------------------------------------------------
def _caret(err: InputError) -> tuple[str, int, int]:
    """(shown line, first caret column, number of carets) of an error message."""
    *_, line, marks = str(err).splitlines()
    assert line.startswith("  ") and marks.startswith("  ")
    start = len(marks) - len(marks.lstrip(" ")) - 2
    return line[2:], start, marks.count("^")


@pytest.mark.parametrize("expr, message, token", [
    ("-u*v**2 + Fx*(1-u)", "unknown name 'Fx' (species: u, v; parameters: F, k)", "Fx"),
    ("u +* v", "invalid syntax", "*"),
    ("(u + v", "never closed", "("),
    ("__import__('os').system('echo hi')", "attribute access '.system'", ".system"),
    ("__import__('os')", "unknown function '__import__'", "__import__"),
    ("u if u > 0 else v", "conditional expression", "u if u > 0 else v"),
    ("u + (v < 1)", "comparison", "v < 1"),
    ("u // 2", "operator '//'", "//"),
    ("u % 2", "operator '%'", "%"),
    ("not u", "operator 'not'", "not"),
    ("u[0] + v", "indexing", "u[0]"),
    ("u.real", "attribute access '.real'", ".real"),
    ("(lambda: u)()", "only the functions", "lambda: u"),
    ("exp(u, v)", "exp() takes 1 argument; 2 given", "exp(u, v)"),
    ("max(u)", "max() takes at least 2 arguments", "max(u)"),
    ("max(u, v, key=F)", "positional arguments only", "key=F"),
    ("sin(*u)", "star argument", "*u"),
    ("foo(u) + v", "unknown function 'foo'", "foo"),
    ("F(u)", "'F' is not a function", "F"),
    ("u * exp", "'exp' is a function", "exp"),
    ("u + 'v'", "a string is not a number", "'v'"),
    ("u + True", "True is not a number", "True"),
    ("u + 1j", "1j is not a number", "1j"),
    ("u * 1e999", "not a finite float", "1e999"),
    ("u * 1" + "0" * 400, "not a finite float", "1" + "0" * 400),
    ("αβ + u", "unknown name 'αβ'", "αβ"),
    ("v*αβ + Fx", "unknown name 'αβ'", "αβ"),
    ("[u, v]", "a list", "[u, v]"),
])
def test_bad_expression_points_at_token(expr, message, token):
    with pytest.raises(InputError) as info:
        custom_model(["u", "v"], {"u": expr, "v": "-v"}, {"F": 0.04, "k": 0.06})
    err = info.value
    assert str(err).startswith("reaction for 'u': ")
    assert message in str(err).splitlines()[0]
    line, start, n = _caret(err)
    assert line == expr
    assert line[start:start + n] == token, (line, start, n)


def test_import_expression_is_refused_and_never_run(capfd):
    with pytest.raises(InputError, match="not allowed"):
        custom_model(["u"], ["u: __import__('os').system('echo hi')"], {})
    with pytest.raises(InputError):
        custom_model(["u"], {"u": "exec('print(1)')"}, {})
    out = capfd.readouterr()
    assert "hi" not in out.out and "1" not in out.out


@pytest.mark.parametrize("kwargs, message", [
    (dict(species=["u", "u"]), "species 'u' appears 2 times"),
    (dict(species=["u", "t"]), "species name 't' is reserved"),
    (dict(species=["u", "2v"]), "not a valid name"),
    (dict(species=[]), "at least one species"),
    (dict(reactions={"u": "-u"}), "no reaction for species 'v'"),
    (dict(reactions={"u": "-u", "v": "-v", "w": "1"}), "reaction for 'w', which is not a species"),
    (dict(reactions=["u: -u", "u: -v", "v: 1"]), "two reactions for species 'u'"),
    (dict(reactions=["u = -u", "v: 1"]), "write 'species: expression'"),
    (dict(reactions={"u": "  ", "v": "1"}), "reaction for 'u' is empty"),
    (dict(reactions=42), "pass a dict"),
    (dict(params={"F": float("nan")}), "parameter F=nan must be a finite number"),
    (dict(params={"F": "0.04"}), "must be a finite number"),
    (dict(params={"u": 1.0}), "has the name of a species"),
    (dict(params={"exp": 1.0}), "reserved"),
    (dict(params={"bc": 1.0}), "reserved"),
    (dict(params={"D_u": 1.0}), "diffusivity of species 'u'"),
    (dict(D=[1.0]), "D has 1 values for 2 species"),
    (dict(D=[-1.0, 1.0]), "D_u=-1.0 must be a finite number >= 0"),
    (dict(D={"w": 1.0}), "not a species"),
    (dict(name=""), "non-empty name"),
])
def test_bad_model_inputs(kwargs, message):
    kw = dict(species=["u", "v"], reactions={"u": "-u", "v": "F - v"}, params={"F": 1.0})
    kw.update(kwargs)
    with pytest.raises(InputError) as info:
        custom_model(**kw)
    assert message in str(info.value)


def test_bad_reaction_functions_name_the_function():
    def wrong_count(u, v, p):
        return (u,)

    def fails(u, v, p):
        return u / (v - 0.5), v

    def wrong_arity(u, p):
        return u

    def not_numba(u, v, p):
        cache = {}
        return u + len(cache), v

    def returns_text(u, v, p):
        return "u", v

    cases = [
        (wrong_count, "reaction function 'wrong_count' returned 1 value; the model has 2 species (u, v)"),
        (fails, "reaction function 'fails' failed on scalar inputs (u=0.5, v=0.5, p=[0.04]): ZeroDivisionError"),
        (wrong_arity, "reaction function 'wrong_arity' cannot be called with 3 arguments"),
        (not_numba, "reaction function 'not_numba' could not be compiled by numba: "),
        (returns_text, "reaction function 'returns_text' returned 'u'"),
    ]
    for fn, message in cases:
        with pytest.raises(InputError) as info:
            custom_model(["u", "v"], fn, {"F": 0.04})
        assert message in str(info.value), str(info.value)
    # the numba message keeps the line that says why, not only the pipeline stage
    with pytest.raises(InputError) as info:
        custom_model(["u", "v"], not_numba, {"F": 0.04})
    assert "Failed in nopython" not in str(info.value) and "cache" in str(info.value)


# -- the cache across processes ----------------------------------------------------------------------
CACHE_SCRIPT = textwrap.dedent("""
    import json, time
    import numpy as np
    from simdiff.pde import Grid
    from simdiff.pde.custom import custom_model
    t0 = time.perf_counter()
    m = custom_model(["a", "b"], {"a": "alpha - a + a**2*b", "b": "beta - a**2*b"},
                     {"alpha": 0.1, "beta": 0.9}, D=[1.0, 40.0])
    du = m.problem(Grid((16, 16), extent=10.0, periodic=True), method="euler").rhs(0.0, np.full((2, 16, 16), 0.5))
    elapsed = time.perf_counter() - t0
    st = type(m).kernel.stats
    print(json.dumps({"elapsed": elapsed, "hits": sum(st.cache_hits.values()),
                      "misses": sum(st.cache_misses.values()), "du": float(du[0, 0, 0])}))
""")


def test_generated_kernel_is_cached_across_processes(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), SIMDIFF_CACHE_DIR=str(tmp_path / "kernels"))

    def run():
        out = subprocess.run([sys.executable, "-c", CACHE_SCRIPT], capture_output=True, text=True, env=env,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run()
    generated = list((tmp_path / "kernels").glob("simdiff_rd_*.py"))
    assert len(generated) == 1
    assert first["misses"] == 1 and first["hits"] == 0          # compiled, then saved
    assert any((tmp_path / "numba").rglob(f"{generated[0].stem}*.nbi"))
    second = run()
    assert second["hits"] == 1 and second["misses"] == 0         # loaded, nothing compiled
    assert second["elapsed"] < 1.0, second
    assert second["du"] == first["du"] == pytest.approx(0.1 - 0.5 + 0.125)
