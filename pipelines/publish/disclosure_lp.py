"""The integer program of one province for the disclosure audit (HiGHS through :func:`scipy.optimize.milp`).

Variables are whole numbers between their bounds (counts, and 0/1 band choices); constraints are linear
rows ``lo <= a.x <= hi``. :meth:`Problem.solve_all` gives the smallest and largest value of each target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

EPS = 1e-6


class Problem:
    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.cells: dict[tuple[str, str], int] = {}

    def var(self, lb: float, ub: float) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        return len(self.lb) - 1

    def cell(self, commune: str, element: str, cap: int) -> int:
        key = (commune, element)
        if key not in self.cells:
            self.cells[key] = self.var(0, cap)
        return self.cells[key]

    def bound(self, i: int, lo: float, hi: float) -> None:
        self.lb[i], self.ub[i] = max(self.lb[i], lo), min(self.ub[i], hi)

    def add(self, coefs: Mapping[int, float], lo: float, hi: float) -> None:
        if len(coefs) == 1 and next(iter(coefs.values())) == 1:
            self.bound(next(iter(coefs)), lo, hi)
        else:
            self.rows.append((dict(coefs), lo, hi))

    def _reduced(self):
        """Fixed variables folded into the rows: (free variables, rows over them), or None when contradictory."""
        lb, ub = np.array(self.lb, dtype=float), np.array(self.ub, dtype=float)
        if (lb > ub + EPS).any():
            return None
        fixed = ub - lb < EPS
        free = np.flatnonzero(~fixed)
        where = {int(j): n for n, j in enumerate(free)}
        rows = []
        for coefs, lo, hi in self.rows:
            const = sum(v * lb[j] for j, v in coefs.items() if fixed[j])
            rest = {where[j]: v for j, v in coefs.items() if not fixed[j]}
            if not rest:
                if not lo - EPS <= const <= hi + EPS:
                    return None
                continue
            rows.append((rest, lo - const, hi - const))
        return lb, ub, free, where, rows

    def solve_all(self, targets: Sequence[int], enough: int | None = None
                  ) -> tuple[dict[int, tuple[float, float]] | None, int]:
        """min and max of each target (None: the constraints contradict each other).

        ``enough``: a target for which solutions already found show that many values or more is not solved
        on its own; its interval is then the part those solutions span (the feasible interval holds it).
        The targets below ``enough`` always get their exact min and max.
        """
        reduced = self._reduced()
        if reduced is None:
            return None, 0
        lb_all, ub_all, free, where, rows = reduced
        n = len(free)
        lb, ub = lb_all[free], ub_all[free]
        linked = np.zeros(n, dtype=bool)
        for coefs, _, _ in rows:
            linked[list(coefs)] = True
        out: dict[int, tuple[float, float]] = {}
        for t in targets:  # published or alone in no constraint: its bounds are its interval
            if t not in where or not linked[where[t]]:
                out[t] = (lb_all[t], ub_all[t])
        pending = [t for t in targets if t not in out]
        if not pending:
            return out, 0
        from scipy import sparse  # imported here: SciPy is slow to import and only the audit needs it
        from scipy.optimize import Bounds, LinearConstraint, milp

        a = sparse.lil_matrix((len(rows), n))
        for r, (coefs, _, _) in enumerate(rows):
            for j, v in coefs.items():
                a[r, j] = v
        constraints = [LinearConstraint(a.tocsr(), [r[1] for r in rows], [r[2] for r in rows])]
        bounds, integrality = Bounds(lb, ub), np.ones(n)
        seen_lo, seen_hi = np.full(n, np.inf), np.full(n, -np.inf)
        solves = 0

        def run(c):
            nonlocal seen_lo, seen_hi, solves
            res = milp(c, constraints=constraints, bounds=bounds, integrality=integrality)
            solves += 1
            if res.x is None:
                return None
            x = np.round(res.x)
            seen_lo, seen_hi = np.minimum(seen_lo, x), np.maximum(seen_hi, x)
            return x

        for sign in (1.0, -1.0):  # all targets at once first: many reach a bound there and need no own solve
            c = np.zeros(n)
            c[[where[t] for t in pending]] = sign
            if run(c) is None:
                return None, solves
        if enough is not None and self._spread(pending, where, lb, ub, run, lambda: (seen_lo, seen_hi), enough) is None:
            return None, solves
        for t in pending:
            j, ends = where[t], []
            if enough is not None and seen_hi[j] - seen_lo[j] + 1 >= enough:
                out[t] = (seen_lo[j], seen_hi[j])
                continue
            for sign in (1.0, -1.0):
                if (sign > 0 and seen_lo[j] <= lb[j] + EPS) or (sign < 0 and seen_hi[j] >= ub[j] - EPS):
                    ends.append(lb[j] if sign > 0 else ub[j])
                    continue
                c = np.zeros(n)
                c[j] = sign
                x = run(c)
                if x is None:
                    return None, solves
                ends.append(x[j])
            out[t] = (ends[0], ends[1])
        return out, solves

    @staticmethod
    def _spread(pending, where, lb, ub, run, seen, enough: int, batches: int = 8) -> bool | None:
        """Solve with mixed objectives that push every target not yet seen with ``enough`` values away
        from the values seen (random weights, so that targets tied by a sum do not cancel out), while each
        such solve still widens some; the targets left are solved alone. None: no solution."""
        rng = np.random.default_rng(0)
        for _ in range(batches):
            lo, hi = seen()
            open_ = [where[t] for t in pending if hi[where[t]] - lo[where[t]] + 1 < enough]
            if len(open_) < 4:
                return True
            c = np.zeros(len(lb))
            for j in open_:
                up = hi[j] < ub[j] - EPS if lo[j] <= lb[j] + EPS else rng.random() < 0.5
                c[j] = rng.uniform(1.0, 2.0) * (-1.0 if up else 1.0)
            before = (hi - lo)[open_]
            if run(c) is None:
                return None
            lo, hi = seen()
            if ((hi - lo)[open_] > before).sum() < max(2, len(open_) // 20):
                return True
        return True


