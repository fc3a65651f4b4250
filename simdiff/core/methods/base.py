"""The method contract.

A method says *how* to step; a problem says *what* evolves. To add an integrator:

1. subclass :class:`Method` and set the class attributes truthfully (``solve`` uses them to refuse
   a wrong pairing before the first step, and the tests read the orders and check them);
2. implement ``step`` with array arithmetic and the ``ops`` namespace only, so numpy and torch
   both run it;
3. call the problem's functions only through the evaluator ``ev`` (``ev.f``, ``ev.N``, ``ev.g``),
   which counts evaluations in one place;
4. register it with :func:`simdiff.core.methods.register`.

``step(ev, t0, t1, y0, dw, state) -> (y1, state)`` is a pure function of its arguments: ``dw`` is
``(dW, area)`` for SDE methods (``area`` only when ``needs_area``), ``None`` for ODE methods;
``state`` is what ``init`` or the previous step returned (multistep history), a tuple of arrays and
floats or None. Adaptive methods also implement ``attempt`` (see ``Dopri5``).
"""
from __future__ import annotations

from typing import Any, ClassVar


class Method:
    name: ClassVar[str]
    kinds: ClassVar[frozenset] = frozenset({"ode"})
    order: ClassVar[float | None] = None          # deterministic order (ODE)
    strong_order: ClassVar[float | None] = None   # with Brownian increments
    weak_order: ClassVar[float | None] = None
    noise: ClassVar[frozenset] = frozenset()      # noise kinds accepted (SDE methods)
    calculus: ClassVar[frozenset] = frozenset({"ito"})  # which SDE solution it converges to
    needs_linear: ClassVar[bool] = False
    needs_area: ClassVar[bool] = False
    needs_phi: ClassVar[bool] = False            # exponential: needs a diagonalisable linear part
    adaptive: ClassVar[bool] = False
    evals_per_step: ClassVar[int] = 1             # drift/rhs evaluations per accepted step
    description: ClassVar[str] = ""

    def init(self, ev, t0: float, y0: Any) -> Any:
        return None

    def step(self, ev, t0: float, t1: float, y0: Any, dw: Any, state: Any):
        raise NotImplementedError(f"method {self.name!r} has no step rule")

    def linear_problem(self, linear) -> str | None:
        """Why this method cannot use ``linear`` (a sentence), or None when it can."""
        if self.needs_phi and not getattr(linear, "diagonalisable", False):
            return (f"it needs a diagonalisable linear part (Diagonal, ScalarOfTime, FourierDiagonal), "
                    f"not {type(linear).__name__}")
        return None

    def compiled(self, problem) -> Any:
        """A compiled loop spec for this problem, or None (then the generic path runs)."""
        return None

    def __repr__(self) -> str:
        return f"<method {self.name}>"
