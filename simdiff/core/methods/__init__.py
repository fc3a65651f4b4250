"""The method registry: every integrator by name, with what it can do."""
from __future__ import annotations

from simdiff.core.methods.base import Method
from simdiff.errors import InputError, InputTypeError

_REGISTRY: dict[str, Method] = {}


def register(method: Method, *, replace: bool = False) -> Method:
    """Add ``method`` to the table; ``solve(..., method=name)`` then finds it."""
    if isinstance(method, type):
        method = method()
    if not isinstance(method, Method):
        raise InputTypeError(f"register() takes a Method instance; got {method!r}.")
    if not _REGISTRY:
        _load_builtin()
    if method.name in _REGISTRY and not replace:
        raise InputError(f"a method named {method.name!r} is already registered; pass replace=True to replace it.")
    _REGISTRY[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method from the table (for tests and user code that registered one)."""
    _REGISTRY.pop(str(name), None)


def _load_builtin() -> None:
    from simdiff.core.methods import explicit, exponential, implicit, stochastic

    for m in (explicit.EULER, explicit.HEUN, explicit.RK4, explicit.SSPRK3, explicit.Dopri5()):
        _REGISTRY[m.name] = m
    for m in stochastic.ALL() + exponential.ALL() + implicit.ALL():
        _REGISTRY[m.name] = m


def get(name) -> Method:
    """The method registered as ``name`` (or ``name`` itself when it is a Method)."""
    if isinstance(name, Method):
        return name
    if not _REGISTRY:
        _load_builtin()
    key = str(name).replace("-", "_").lower()
    if key not in _REGISTRY:
        raise InputError(f"unknown method {name!r}. Valid methods: {', '.join(sorted(_REGISTRY))}.\n{table()}")
    return _REGISTRY[key]


def all_methods() -> list[Method]:
    if not _REGISTRY:
        _load_builtin()
    return list(_REGISTRY.values())


def _fmt(x) -> str:
    return "-" if x is None else f"{x:g}"


def table() -> str:
    """The methods as a text table: name, kinds, orders, noise kinds, needs."""
    rows = [("name", "kinds", "order", "strong", "weak", "noise", "needs", "description")]
    for m in all_methods():
        needs = ",".join(x for x, b in (("linear", m.needs_linear), ("area", m.needs_area),
                                        ("adaptive", m.adaptive)) if b) or "-"
        noise = ",".join(sorted(m.noise)) if m.noise else "-"
        if "sde" in m.kinds and m.calculus != frozenset({"ito"}):
            noise += " (" + "/".join(sorted(m.calculus)) + ")"
        rows.append((m.name, ",".join(sorted(m.kinds)), _fmt(m.order), _fmt(m.strong_order),
                     _fmt(m.weak_order), noise, needs, m.description))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


class MethodTable(list):
    """A list of methods that prints as a table."""

    def __repr__(self) -> str:
        return table()

    __str__ = __repr__


def methods() -> MethodTable:
    """All registered integrators; ``print(simdiff.methods())`` shows their orders and noise kinds."""
    return MethodTable(all_methods())
