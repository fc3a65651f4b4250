r"""User-defined reaction–diffusion models: any species, per-species diffusivities, your reaction.

:math:`\partial_t u_s = D_s \nabla^2 u_s + R_s(u, t; p)`, with :math:`R` given either

- as **expressions**, one per species, in an arithmetic subset of Python: numbers, the species,
  the parameters, ``t`` and ``pi``; ``+ - * / **`` and unary ``-``/``+``; the functions
  ``exp log sqrt sin cos tan sinh cosh tanh abs`` (one argument) and ``min max`` (two or more).
  The text is parsed with :mod:`ast` and every node is checked against that list; the kernel is
  generated from the checked tree (never by ``eval`` of the text) into a module in the kernel
  cache directory, ``$SIMDIFF_CACHE_DIR`` or ``~/.cache/simdiff/kernels``, named by a hash of the
  species, the expressions, the parameter names and the simdiff version. Numba's disk cache then
  works as for the built-in models: a second process with the same model compiles nothing.
- as a **Python function** ``f(u, v, ..., p) -> (R_u, R_v, ...)``: one positional argument per
  species (in ``species`` order, each a float) and last ``p``, the parameters as a float64 array
  in the order of ``params`` (write ``F, k = p`` or ``p[0]``). The body must be plain arithmetic
  and ``math`` functions that numba compiles in nopython mode. The fused kernel is a closure over
  the compiled function, so it is compiled once per process (about a second) and not cached on
  disk; prefer expressions for models you run often from new processes.

The result is an instance of a ``ReactionDiffusion`` subclass made for the model, so
``problem()``, :func:`~simdiff.pde.simulate`, the Turing analysis (:mod:`simdiff.pde.turing`) and
new parameter values (``type(model)(F=0.05, D_v=2e-5)``) work as for the built-in models.
Custom models are not put in the model registry. The steady state is found by Newton from 0.5
(``ReactionDiffusion.steady_state``); reactions that use ``t`` are evaluated at ``t = 0`` there.

>>> from simdiff.pde import Grid
>>> from simdiff.pde.custom import custom_model
>>> gs = custom_model(["u", "v"], ["u: -u*v**2 + F*(1 - u)", "v: u*v**2 - (F + k)*v"],
...                   params={"F": 0.04, "k": 0.06}, D=[2e-5, 1e-5], name="my-gray-scott")
>>> gs.species, gs.params
(('u', 'v'), {'F': 0.04, 'k': 0.06})
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import keyword
import math
import numbers
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from simdiff.errors import InputError
from simdiff.pde.reaction_diffusion import ReactionDiffusion

__all__ = ["custom_model", "CustomReactionDiffusion", "parse_reaction", "kernel_cache_dir", "FUNCTIONS"]

# name -> (numba spelling, numpy spelling, least number of arguments, most)
FUNCTIONS: dict[str, tuple[str, str, int, int]] = {
    "exp": ("math.exp", "np.exp", 1, 1),
    "log": ("math.log", "np.log", 1, 1),
    "sqrt": ("math.sqrt", "np.sqrt", 1, 1),
    "sin": ("math.sin", "np.sin", 1, 1),
    "cos": ("math.cos", "np.cos", 1, 1),
    "tan": ("math.tan", "np.tan", 1, 1),
    "sinh": ("math.sinh", "np.sinh", 1, 1),
    "cosh": ("math.cosh", "np.cosh", 1, 1),
    "tanh": ("math.tanh", "np.tanh", 1, 1),
    "abs": ("abs", "np.abs", 1, 1),
    "min": ("min", "np.minimum", 2, 64),
    "max": ("max", "np.maximum", 2, 64),
}
CONSTANTS = {"pi": ("math.pi", "np.pi")}
TIME = "t"
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | {TIME}
# keyword names that ReactionDiffusion.__init__ and to_dict use themselves
_RESERVED_PARAMS = frozenset({"bc", "model", "custom"})
_GENERATOR = 1        # bump when the generated source changes shape: old cache files are then unused

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OTHER_BINOPS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
                 ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&"}
_WHAT = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "a lambda",
    ast.Compare: "a comparison", ast.BoolOp: "'and'/'or'", ast.IfExp: "a conditional expression",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator", ast.NamedExpr: "an assignment (:=)", ast.JoinedStr: "an f-string",
    ast.Starred: "a star argument", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Slice: "a slice",
}
_RULE = ("a reaction is numbers, species, parameters, t and pi joined by + - * / **, and the "
         f"functions {', '.join(FUNCTIONS)}")


# -- parsing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reaction:
    """One species' reaction: the text as written and its checked syntax tree."""

    species: str
    text: str
    tree: ast.Expression

    @property
    def canonical(self) -> str:
        """The expression as simdiff reads it (spacing normalised, from the checked tree)."""
        return ast.unparse(self.tree.body)

    @property
    def uses_time(self) -> bool:
        return any(isinstance(n, ast.Name) and n.id == TIME for n in ast.walk(self.tree))


def _char_col(line: str, byte_col: int) -> int:
    """ast column offsets count UTF-8 bytes; the caret line counts characters."""
    return len(line.encode("utf-8")[:max(byte_col, 0)].decode("utf-8", errors="ignore"))


def _caret(text: str, lineno: int, col: int, end: int) -> str:
    """The offending line of ``text`` and a caret line under characters ``col:end`` of it."""
    lines = text.splitlines() or [""]
    line = lines[min(max(lineno, 1), len(lines)) - 1]
    col = min(max(col, 0), len(line))
    end = min(max(end, col + 1), max(len(line), col + 1))
    return f"  {line}\n  {' ' * col}{'^' * (end - col)}"


def _node_span(text: str, node: ast.AST) -> tuple[int, int, int]:
    """(line, first char, char after last) of ``node`` on its first line."""
    line = (text.splitlines() or [""])[node.lineno - 1]
    col = _char_col(line, node.col_offset)
    end = _char_col(line, node.end_col_offset) if node.end_lineno == node.lineno else len(line)
    return node.lineno, col, end


class _Checker:
    """Walks a parsed reaction and raises InputError at the first node outside the subset."""

    def __init__(self, species: str, text: str, names: Sequence[str], params: Sequence[str]):
        self.species, self.text = species, text
        self.names, self.params = tuple(names), tuple(params)

    def fail(self, message: str, node: ast.AST | None = None, span: tuple[int, int, int] | None = None):
        if span is None and node is not None:
            span = _node_span(self.text, node)
        where = "" if span is None else "\n" + _caret(self.text, *span)
        raise InputError(f"reaction for {self.species!r}: {message}{where}")

    def _known(self) -> str:
        return f"(species: {', '.join(self.names)}; parameters: {', '.join(self.params) or 'none'})"

    def check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                sym = _OTHER_BINOPS.get(type(node.op), "?")
                self.fail(f"operator {sym!r} is not allowed; {_RULE}.", span=self._op_span(node, sym))
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                tok = "not" if isinstance(node.op, ast.Not) else "~"
                ln, col, _ = _node_span(self.text, node)
                self.fail(f"operator {tok!r} is not allowed; {_RULE}.", span=(ln, col, col + len(tok)))
            self.check(node.operand)
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or v is None or not isinstance(v, (int, float)):
                kind = "a string" if isinstance(v, (str, bytes)) else f"{v!r}"
                self.fail(f"{kind} is not a number; {_RULE}.", node)
            if isinstance(v, int) and abs(v) > 2 ** 1023 or isinstance(v, float) and not math.isfinite(v):
                self.fail(f"the number {ast.get_source_segment(self.text, node) or v!r} is not a finite float.", node)
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                self.fail(f"{node.id!r} is a function: call it, as in {node.id}(u).", node)
            if node.id not in self.names and node.id not in self.params and node.id not in RESERVED:
                self.fail(f"unknown name {node.id!r} {self._known()}", node)
        elif isinstance(node, ast.Call):
            self._check_call(node)
        elif isinstance(node, ast.Attribute):
            ln, col, end = _node_span(self.text, node)
            if node.value.end_lineno == node.lineno:
                col = _node_span(self.text, node.value)[2]
            self.fail(f"attribute access '.{node.attr}' is not allowed; {_RULE}.", span=(ln, col, end))
        else:
            what = _WHAT.get(type(node), type(node).__name__)
            self.fail(f"{what} is not allowed; {_RULE}.", node)

    def _check_call(self, node: ast.Call) -> None:
        f = node.func
        if not isinstance(f, ast.Name):
            if isinstance(f, ast.Attribute):
                self.check(f)                      # points at the attribute
            self.fail(f"only the functions {', '.join(FUNCTIONS)} can be called.", f)
        if f.id not in FUNCTIONS:
            if f.id in self.names or f.id in self.params or f.id in RESERVED:
                self.fail(f"{f.id!r} is not a function; the functions are {', '.join(FUNCTIONS)}.", f)
            self.fail(f"unknown function {f.id!r}; the functions are {', '.join(FUNCTIONS)}.", f)
        if node.keywords:
            kw = node.keywords[0]
            self.fail(f"{f.id}() takes positional arguments only.", kw)
        for a in node.args:
            if isinstance(a, ast.Starred):
                self.fail(f"{f.id}() takes plain arguments, not a star argument.", a)
        lo, hi = FUNCTIONS[f.id][2:]
        if not lo <= len(node.args) <= hi:
            want = f"{lo}" if lo == hi else f"at least {lo}"
            self.fail(f"{f.id}() takes {want} argument{'s' if lo > 1 else ''}; {len(node.args)} given.", node)
        for a in node.args:
            self.check(a)

    def _op_span(self, node: ast.BinOp, sym: str) -> tuple[int, int, int]:
        """The operator token between the operands (BinOp.op carries no position)."""
        ln, col, end = _node_span(self.text, node)
        line = (self.text.splitlines() or [""])[ln - 1]
        lo = _node_span(self.text, node.left)[2] if node.left.end_lineno == ln else col
        hi = _node_span(self.text, node.right)[1] if node.right.lineno == ln else end
        at = line.find(sym, lo, max(hi, lo + len(sym)))
        return (ln, at, at + len(sym)) if at >= 0 else (ln, col, end)


def parse_reaction(species: str, text: Any, names: Sequence[str], params: Sequence[str]) -> Reaction:
    """Check one reaction expression; raise :class:`~simdiff.InputError` with a caret under the
    offending token when it is outside the arithmetic subset (see the module docstring)."""
    if isinstance(text, numbers.Real) and not isinstance(text, bool):
        text = repr(float(text))
    if not isinstance(text, str):
        raise InputError(f"reaction for {species!r}: {text!r} is not an expression string.")
    text = text.strip()
    if not text:
        raise InputError(f"reaction for {species!r} is empty; write an expression such as '-u + a'.")
    checker = _Checker(species, text, names, params)
    try:
        tree = ast.parse(text, mode="eval")
    except (ValueError, RecursionError, MemoryError) as err:   # null bytes, huge literals, deep nesting
        raise InputError(f"reaction for {species!r} cannot be read: {err or type(err).__name__}.") from None
    except SyntaxError as err:
        col = (err.offset or 1) - 1
        end = err.end_offset - 1 if (err.end_offset or 0) > (err.offset or 0) and err.end_lineno in (None, err.lineno) \
            else col + 1
        checker.fail(f"{err.msg}", span=(err.lineno or 1, col, end))
    try:
        checker.check(tree.body)
    except RecursionError:
        raise InputError(f"reaction for {species!r} is nested too deeply to read.") from None
    return Reaction(species, text, tree)


def _reactions(species: tuple[str, ...], reactions: Any, params: Sequence[str]) -> list[Reaction]:
    """Every species' reaction from a dict or a list of ``"s: expr"`` strings, checked."""
    known = ", ".join(species)
    if isinstance(reactions, str):
        reactions = [reactions]
    if isinstance(reactions, Mapping):
        items = [(str(k), v) for k, v in reactions.items()]
    elif isinstance(reactions, (list, tuple)):
        items = []
        for r in reactions:
            if not isinstance(r, str) or ":" not in r:
                raise InputError(f"reaction {r!r}: write 'species: expression', e.g. '{species[0]}: -{species[0]}'.")
            head, expr = r.split(":", 1)
            items.append((head.strip(), expr))
    else:
        raise InputError(f"reactions: pass a dict {{species: expression}}, a list of 'species: expression' strings "
                         f"or a Python function; got {type(reactions).__name__}.")
    seen: dict[str, Any] = {}
    for s, expr in items:
        if s not in species:
            raise InputError(f"reaction for {s!r}, which is not a species (species: {known}).")
        if s in seen:
            raise InputError(f"two reactions for species {s!r}; give each species exactly one.")
        seen[s] = expr
    missing = [s for s in species if s not in seen]
    if missing:
        raise InputError(f"no reaction for species {', '.join(map(repr, missing))}; every species needs exactly one "
                         f"(species: {known}).")
    return [parse_reaction(s, seen[s], species, params) for s in species]


# -- validation of the rest ----------------------------------------------------------------------
def _species(species: Any) -> tuple[str, ...]:
    if isinstance(species, str):
        species = species.replace(",", " ").split()
    try:
        out = tuple(species)
    except TypeError:
        raise InputError(f"species: pass a list of names such as ['u', 'v']; got {species!r}.") from None
    if not out:
        raise InputError("species: a model needs at least one species.")
    for s in out:
        if not isinstance(s, str) or not s.isidentifier() or keyword.iskeyword(s):
            raise InputError(f"species name {s!r} is not a valid name (letters, digits and _, not starting "
                             f"with a digit).")
        if s in RESERVED:
            raise InputError(f"species name {s!r} is reserved ({', '.join(sorted(RESERVED))}); pick another.")
        if out.count(s) > 1:
            raise InputError(f"species {s!r} appears {out.count(s)} times in {list(out)}; names must be distinct.")
    return out


def _params(params: Any, species: tuple[str, ...]) -> dict[str, float]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InputError(f"params: pass a dict {{name: value}}; got {type(params).__name__}.")
    out = {}
    for k, v in params.items():
        if not isinstance(k, str) or not k.isidentifier() or keyword.iskeyword(k):
            raise InputError(f"parameter name {k!r} is not a valid name (letters, digits and _, not starting "
                             f"with a digit).")
        if k in RESERVED or k in _RESERVED_PARAMS:
            raise InputError(f"parameter name {k!r} is reserved ({', '.join(sorted(RESERVED | _RESERVED_PARAMS))}).")
        if k in species:
            raise InputError(f"parameter {k!r} has the name of a species; rename one of them.")
        if k.startswith("D_") and k[2:] in species:
            raise InputError(f"parameter name {k!r} is the diffusivity of species {k[2:]!r}; set it with D=.")
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
            raise InputError(f"parameter {k}={v!r} must be a finite number.")
        out[k] = float(v)
    return out


def _diffusivities(D: Any, species: tuple[str, ...]) -> dict[str, float]:
    if D is None:
        vals = {s: 1.0 for s in species}
    elif isinstance(D, Mapping):
        extra = [k for k in D if k not in species]
        if extra:
            raise InputError(f"D names {', '.join(map(repr, extra))}, not a species (species: {', '.join(species)}).")
        vals = {s: D.get(s, 1.0) for s in species}
    elif isinstance(D, numbers.Real):
        vals = {s: D for s in species}
    else:
        D = list(np.atleast_1d(np.asarray(D, dtype=object)))
        if len(D) != len(species):
            raise InputError(f"D has {len(D)} values for {len(species)} species ({', '.join(species)}): give one "
                             f"diffusivity per species, in order.")
        vals = dict(zip(species, D))
    for s, d in vals.items():
        if isinstance(d, bool) or not isinstance(d, numbers.Real) or not (math.isfinite(float(d)) and d >= 0):
            raise InputError(f"diffusivity D_{s}={d!r} must be a finite number >= 0 (species {s!r}).")
    return {s: float(d) for s, d in vals.items()}


# -- code generation -----------------------------------------------------------------------------
class _Emit(ast.NodeTransformer):
    """The checked tree with names and functions spelled for numba (``math``) or numpy (``np``)."""

    def __init__(self, species: Sequence[str], params: Sequence[str], backend: int):
        self.s = {n: f"_s{i}" for i, n in enumerate(species)}
        self.p = {n: f"_p{i}" for i, n in enumerate(params)}
        self.backend = backend            # 0: numba, 1: numpy

    @staticmethod
    def _dotted(name: str) -> ast.expr:
        head, *rest = name.split(".")
        node: ast.expr = ast.Name(head, ast.Load())
        for r in rest:
            node = ast.Attribute(node, r, ast.Load())
        return node

    def visit_Name(self, node):
        if node.id in self.s:
            return ast.Name(self.s[node.id], ast.Load())
        if node.id in self.p:
            return ast.Name(self.p[node.id], ast.Load())
        if node.id in CONSTANTS:
            return self._dotted(CONSTANTS[node.id][self.backend])
        return ast.Name(TIME, ast.Load())

    def visit_BinOp(self, node):
        left = self.visit(node.left)
        right = self._exponent(node.right) if isinstance(node.op, ast.Pow) else self.visit(node.right)
        return ast.BinOp(left, node.op, right)

    def _exponent(self, node):
        # small integer exponents stay integers: numba and numpy then multiply (v**2 == v*v exactly)
        inner, signs = node, []
        while isinstance(inner, ast.UnaryOp):
            signs.append(inner.op)
            inner = inner.operand
        if isinstance(inner, ast.Constant) and type(inner.value) is int and abs(inner.value) < 2 ** 31:
            out: ast.expr = ast.Constant(inner.value)
            for op in reversed(signs):
                out = ast.UnaryOp(op, out)
            return out
        return self.visit(node)

    def visit_UnaryOp(self, node):
        return ast.UnaryOp(node.op, self.visit(node.operand))

    def visit_Constant(self, node):
        return ast.Constant(float(node.value))

    def visit_Call(self, node):
        args = [self.visit(a) for a in node.args]
        fn = FUNCTIONS[node.func.id][self.backend]
        if self.backend == 1 and node.func.id in ("min", "max"):
            out = args[0]
            for a in args[1:]:
                out = ast.Call(self._dotted(fn), [out, a], [])
            return out
        return ast.Call(self._dotted(fn), args, [])


def _spell(r: Reaction, species, params, backend: int) -> str:
    tree = _Emit(species, params, backend).visit(r.tree.body)
    return ast.unparse(ast.fix_missing_locations(tree))


def _at(i: int) -> str:
    """Index of species ``i`` at cell ``_c`` in the flat state."""
    return "_c" if i == 0 else "_n + _c" if i == 1 else f"{i} * _n + _c"


def _tuple(names: list[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _expression_source(species: tuple[str, ...], params: tuple[str, ...], rs: list[Reaction]) -> str:
    S = len(species)
    lines = [
        '"""Generated by simdiff.pde.custom from checked reaction trees; do not edit.',
        "",
        "The file name is a hash of the species, reactions, parameter names and simdiff version, so",
        'numba\'s disk cache (cache=True) serves every process that builds the same model."""',
        "import math",
        "",
        "import numba as nb",
        "import numpy as np",
        "",
        "from simdiff.core.kernels import KERNEL_SIG",
        "from simdiff.pde.reaction_diffusion import rd_diffuse, rd_inside, rd_params",
        "",
        f"SPECIES = {species!r}",
        f"PARAMETERS = {params!r}",
        f"REACTIONS = {tuple(r.canonical for r in rs)!r}",
        "",
        "",
        "def reaction_numpy(_y, _t=0.0, /, **_kw):",
        '    """The reaction on arrays (the numpy reference of `kernel`)."""',
    ]
    lines += [f"    _s{i} = _y[{i}]" for i in range(S)]
    lines += [f"    _p{j} = _kw[{name!r}]" for j, name in enumerate(params)]
    lines += ["    t = _t", "    _z = np.zeros(np.shape(_s0))"]
    lines += [f"    _r{i} = _z + ({_spell(r, species, params, 1)})" for i, r in enumerate(rs)]
    lines += [f"    return {_tuple([f'_r{i}' for i in range(S)])}", "", ""]
    lines += [
        '@nb.njit(KERNEL_SIG, cache=True, error_model="numpy")',
        "def kernel(t, y, out, p, ip):",
        "    _f = rd_diffuse(t, y, out, p, ip)",
        f"    _n = y.size // {S}",
        "    _q = rd_params(p, ip)",
    ]
    lines += [f"    _p{j} = p[_q + {j}]" for j in range(len(params))]
    lines += ["    for _c in range(_n):", "        if rd_inside(ip, _c):"]
    lines += [f"            _s{i} = y[{_at(i)}]" for i in range(S)]
    lines += [f"            _r{i} = {_spell(r, species, params, 0)}" for i, r in enumerate(rs)]
    lines += [f"            out[{_at(i)}] += _f * _r{i}" for i in range(S)]
    return "\n".join(lines) + "\n"


def _function_source(S: int, scalar: bool) -> str:
    """A module whose ``make_kernel(f)`` returns the fused kernel calling ``f`` (S species)."""
    ys = ", ".join(f"y[{_at(i)}]" for i in range(S))
    lines = [
        '"""Generated by simdiff.pde.custom: the fused kernel around a compiled reaction function',
        f'of {S} species; do not edit."""',
        "import numba as nb",
        "",
        "from simdiff.core.kernels import KERNEL_SIG",
        "from simdiff.pde.reaction_diffusion import rd_diffuse, rd_inside, rd_params",
        "",
        "",
        "def make_kernel(_fn):",
        "    @nb.njit(KERNEL_SIG, error_model=\"numpy\")",
        "    def kernel(t, y, out, p, ip):",
        "        _f = rd_diffuse(t, y, out, p, ip)",
        f"        _n = y.size // {S}",
        "        _pv = p[rd_params(p, ip):]",
        "        for _c in range(_n):",
        "            if rd_inside(ip, _c):",
        f"                _r = _fn({ys}, _pv)",
    ]
    if scalar:
        lines += ["                out[_c] += _f * _r"]
    else:
        lines += [f"                out[{_at(i)}] += _f * _r[{i}]" for i in range(S)]
    lines += ["", "    return kernel"]
    return "\n".join(lines) + "\n"


def kernel_cache_dir() -> Path:
    """Where generated kernel modules live: ``$SIMDIFF_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/simdiff/kernels`` (``~/.cache/simdiff/kernels``)."""
    env = os.environ.get("SIMDIFF_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "simdiff" / "kernels"


def _load(stem: str, source: str):
    """Import ``source`` as module ``stem`` from the cache directory, writing it first (atomically)
    when it is missing or differs. An unchanged file keeps its mtime, which numba's cache index
    checks: rewriting it would throw the compiled code away."""
    if stem in sys.modules:
        return sys.modules[stem]
    from simdiff.io.atomic import atomic_open

    d = kernel_cache_dir()
    path = d / f"{stem}.py"
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != source:
            d.mkdir(parents=True, exist_ok=True)
            with atomic_open(path) as fh:
                fh.write(source.encode("utf-8"))
    except OSError as err:
        raise InputError(f"cannot write the generated kernel to {os.fspath(path)!r} ({err.strerror}); set "
                         f"SIMDIFF_CACHE_DIR to a writable directory.") from None
    spec = importlib.util.spec_from_file_location(stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[stem] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(stem, None)
        raise
    return mod


def _digest(payload: Any) -> str:
    import simdiff

    blob = json.dumps({"v": simdiff.__version__, "gen": _GENERATOR, **payload}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def _expression_module(species, params, rs: list[Reaction]):
    key = _digest({"species": list(species), "params": list(params), "reactions": [r.canonical for r in rs]})
    return _load(f"simdiff_rd_{key}", _expression_source(species, params, rs))


# -- Python-function reactions -------------------------------------------------------------------
_FN_KERNELS: dict[tuple, tuple] = {}


def _numba_message(err: Exception) -> str:
    """The informative line of a numba error (its first line is the pipeline stage) and where."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in str(err).splitlines()]
    lines = [ln for ln in lines if ln]
    body = [ln for ln in lines if not ln.startswith(("Failed in", "During:", "- Resolution failure"))]
    msg = body[0] if body else (lines[0] if lines else type(err).__name__)
    where = next((ln for ln in lines if ln.startswith("File ")), None)
    return f"{msg} ({where.rstrip(':')})" if where else msg


def _function_model(fn: Callable, species: tuple[str, ...], params: dict[str, float]):
    """(compiled kernel, numpy reaction) for a reaction function, after checking it on scalars."""
    import numba as nb

    py = getattr(fn, "py_func", fn)          # an @njit function: check and recompile its Python source
    name = getattr(py, "__name__", repr(py))
    S = len(species)
    want = f"{S + 1} arguments: one per species ({', '.join(species)}) and then the parameters p"
    try:
        inspect.signature(py).bind(*([0.5] * S), np.zeros(len(params)))
    except TypeError as err:
        raise InputError(f"reaction function {name!r} cannot be called with {want} ({err}).") from None
    except ValueError:
        pass                                 # no signature to inspect (a builtin): the call decides
    p = np.array(list(params.values()), dtype=float)
    try:
        got = py(*([0.5] * S), p.copy())
    except Exception as err:  # noqa: BLE001 - any failure of user code is reported the same way
        raise InputError(f"reaction function {name!r} failed on scalar inputs "
                         f"({', '.join(f'{s}=0.5' for s in species)}, p={p.tolist()}): "
                         f"{type(err).__name__}: {err}") from None
    scalar = S == 1 and isinstance(got, numbers.Number)
    if not scalar:
        if not isinstance(got, (tuple, list)):
            raise InputError(f"reaction function {name!r} returned one {type(got).__name__}; the model has {S} "
                             f"species ({', '.join(species)}): return a tuple with one value per species.")
        if len(got) != S:
            raise InputError(f"reaction function {name!r} returned {len(got)} value{'s' * (len(got) != 1)}; the "
                             f"model has {S} species ({', '.join(species)}): return one value per species, in order.")
    for v in ([got] if scalar else got):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InputError(f"reaction function {name!r} returned {v!r} ({type(v).__name__}); each value must be "
                             f"a real number.")

    key = (py, S, scalar)
    if key not in _FN_KERNELS:
        jf = nb.njit(py, error_model="numpy")
        sig = (nb.float64,) * S + (nb.float64[::1],)
        try:
            jf.compile(sig)
        except Exception as err:  # noqa: BLE001 - numba's typing errors are long: keep the line that says why
            raise InputError(f"reaction function {name!r} could not be compiled by numba: "
                             f"{_numba_message(err)}") from None
        ret = jf.overloads[sig].signature.return_type
        ok = (isinstance(ret, nb.types.Number) if scalar else
              isinstance(ret, nb.types.BaseTuple) and len(ret) == S
              and all(isinstance(r, nb.types.Number) for r in ret))
        if not ok:
            raise InputError(f"reaction function {name!r} returns {ret} when compiled by numba; return a tuple of "
                             f"{S} numbers (one per species).")
        factory = _load(f"simdiff_rdfn_{_digest({'species': S, 'scalar': scalar})}", _function_source(S, scalar))
        try:
            kern = factory.make_kernel(jf)
        except Exception as err:  # noqa: BLE001
            raise InputError(f"reaction function {name!r} could not be compiled by numba: "
                             f"{_numba_message(err)}") from None
        _FN_KERNELS[key] = (kern, jf)
    kern = _FN_KERNELS[key][0]

    names = tuple(params)
    vec = np.vectorize(py, otypes=[float] if scalar else [float] * S, excluded={S})

    def reaction_numpy(_y, _t=0.0, /, **kw):
        pv = np.array([kw[k] for k in names], dtype=float)
        out = vec(*[np.asarray(_y[i], dtype=float) for i in range(S)], pv)
        return (out,) if scalar else tuple(out)

    reaction_numpy.__doc__ = f"The reaction {name}(...) on arrays, element by element."
    return kern, reaction_numpy, name


# -- the model class -----------------------------------------------------------------------------
class CustomReactionDiffusion(ReactionDiffusion):
    """Base of the classes :func:`custom_model` makes (not registered under a model name)."""

    reactions: ClassVar[dict[str, str]] = {}      # species -> expression as simdiff reads it ({} for a function)
    reaction_function: ClassVar[Callable | None] = None
    time_dependent: ClassVar[bool] = False
    _spec: ClassVar[dict] = {}

    def reaction(self, u, t: float = 0.0) -> np.ndarray:
        """The reaction term on a state ``(n_species, ...)`` at time ``t`` (numpy reference)."""
        u = np.asarray(u, dtype=float)
        return np.stack(self.reaction_numpy(u, float(t), **self.params))

    def _reference(self, grid, bounds, inside):
        if not self.time_dependent:
            return super()._reference(grid, bounds, inside)
        from simdiff.pde.operators.reference import div_grad

        def ref(t, y, reaction_only=False):
            y = np.asarray(y, dtype=float).reshape((len(self.species), *grid.shape))
            out = self.reaction(y, t)
            if not reaction_only:
                out = out + np.stack([div_grad(y[s], grid, bounds, D=self.D[sp], mask=inside)
                                      for s, sp in enumerate(self.species)])
            return out if inside is None else np.where(inside[None], out, 0.0)

        return ref

    def to_dict(self) -> dict:
        d = super().to_dict()
        spec = {"name": self.name, "species": list(self.species), "parameters": list(self.parameters)}
        if self.reaction_function is None:
            spec["reactions"] = dict(self.reactions)
        else:
            f = self.reaction_function
            spec["function"] = f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', '?')}"
        return {**d, "model": "custom", "custom": spec}

    @classmethod
    def from_dict(cls, d: dict) -> "CustomReactionDiffusion":
        """Rebuild an expression model from :meth:`to_dict` (a run file's ``model`` attribute)."""
        d = dict(d)
        spec = d.pop("custom", None)
        d.pop("model", None)
        if not isinstance(spec, Mapping) or "species" not in spec:
            raise InputError("from_dict: no 'custom' entry; this is not a custom model's configuration.")
        if "reactions" not in spec:
            raise InputError(f"model {spec.get('name')!r} used the Python function {spec.get('function')!r}; "
                             f"rebuild it with custom_model(..., reactions=<that function>).")
        species = tuple(spec["species"])
        bc = d.pop("bc", "neumann")
        D = {s: d.pop(f"D_{s}") for s in species if f"D_{s}" in d}
        params = {k: d.pop(k) for k in spec.get("parameters", []) if k in d}
        if d:
            raise InputError(f"from_dict: unexpected keys {sorted(d)} for custom model {spec.get('name')!r}.")
        return custom_model(species, spec["reactions"], params, D, name=spec.get("name", "custom"), bc=bc)

    def __reduce__(self):
        return (_rebuild, (self._spec, dict(self.params), dict(self.D), self.bc))


def _rebuild(spec: dict, params: dict, D: dict, bc: Any):
    return custom_model(spec["species"], spec["reactions"], params, D, name=spec["name"], bc=bc)


def custom_model(species: Sequence[str] | str, reactions: Mapping[str, str] | Sequence[str] | Callable,
                 params: Mapping[str, float] | None = None, D: Any = None, name: str = "custom",
                 bc: Any = "neumann") -> CustomReactionDiffusion:
    r"""A reaction–diffusion model :math:`\partial_t u_s = D_s\nabla^2 u_s + R_s(u, t; p)` from your reaction.

    Parameters
    ----------
    species
        Species names, e.g. ``["u", "v"]`` (the state is ``(len(species), *grid.shape)`` in this
        order). Names are identifiers other than ``t``, ``pi`` and the function names.
    reactions
        ``{"u": "-u*v**2 + F*(1 - u)", ...}`` or ``["u: -u*v**2 + F*(1 - u)", ...]``: one
        expression per species in the arithmetic subset of the module docstring; or a Python
        function ``f(u, v, ..., p) -> (R_u, R_v, ...)`` with ``p`` the parameter values as an
        array in the order of ``params``, which numba compiles (nopython).
    params
        Parameter names and default values (finite numbers), e.g. ``{"F": 0.04, "k": 0.06}``;
        the model then takes ``F=...`` keywords like a built-in one.
    D
        Diffusivities: one number for all species, one per species in order, or a dict by species
        (missing species get 1). Default 1. Length² per time, >= 0.
    name
        The model's name in messages and run files.
    bc
        Boundary condition, as for the built-in models.

    Raises
    ------
    InputError
        For a bad name, a missing, extra or duplicate reaction, an expression outside the subset
        (the message shows the expression with a caret under the offending token), a non-finite
        parameter, or a reaction function that fails on scalars, returns the wrong number of
        values or does not compile with numba (the message names the function).

    Example
    -------
    >>> m = custom_model("u v", {"u": "a - u + u**2*v", "v": "b - u**2*v"}, {"a": 0.1, "b": 0.9}, D=[1.0, 40.0])
    >>> [round(float(x), 6) for x in m.steady_state()]
    [1.0, 0.9]
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name={name!r}: give the model a non-empty name.")
    sp = _species(species)
    ps = _params(params, sp)
    Ds = _diffusivities(D, sp)
    attrs: dict[str, Any] = {
        "name": "", "species": sp, "parameters": ps, "ranges": {}, "diffusivity": Ds, "presets": {},
        "__module__": __name__,
    }
    if callable(reactions) and not isinstance(reactions, (str, Mapping)):
        kern, numpy_fn, fname = _function_model(reactions, sp, ps)
        attrs.update(kernel=kern, reaction_numpy=staticmethod(numpy_fn), reaction_function=reactions,
                     description=f"custom model: reaction function {fname}", reactions={}, time_dependent=False)
        spec_reactions: Any = reactions
    else:
        rs = _reactions(sp, reactions, tuple(ps))
        mod = _expression_module(sp, tuple(ps), rs)
        canonical = {r.species: r.canonical for r in rs}
        attrs.update(kernel=mod.kernel, reaction_numpy=staticmethod(mod.reaction_numpy), reactions=canonical,
                     time_dependent=any(r.uses_time for r in rs),
                     description="custom model: " + "; ".join(f"{s}' = {e}" for s, e in canonical.items()))
        spec_reactions = canonical
    attrs["_spec"] = {"species": sp, "reactions": spec_reactions, "name": name}
    cls_name = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", name) if w) or "Custom"
    if not cls_name.isidentifier():
        cls_name = "Custom" + cls_name
    # created with an empty name, so ReactionDiffusion.__init_subclass__ does not register it
    cls = type(cls_name, (CustomReactionDiffusion,), attrs)
    cls.name = name
    return cls(bc=bc)
