"""Genetic search over expression trees, returning a Pareto front (as PySR does).

The built-in engine is a multi-gene genetic program (Searson et al. 2010, the
GPTIPS scheme). An individual is a short list of *genes*, each an expression
tree over the state variables; the law it stands for is

    f(s) = w_1 g_1(s) + w_2 g_2(s) + ... (+ w_0)

whose outer weights w are found exactly by linear least squares (Keijzer's
"linear scaling"), so the evolution only has to find the *shapes* g_k. Constants
inside genes (as in ``sqrt(x^2 + c)``) are fitted with
``scipy.optimize.least_squares`` by variable projection (the weights are
re-solved at every step).

The evolution: tournament selection; crossover that swaps whole genes between
parents or subtrees between genes; mutation that replaces a subtree, changes an
operator or a variable, wraps a node in a unary operator, hoists a child, adds
or removes a gene, or jitters a constant. A hall of fame keeps, for every
complexity (node count of the assembled tree), the most accurate law seen; its
non-dominated members are the Pareto front of complexity vs error.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import validate
from .expr import OPERATORS, Const, Node, Op, Var, constants, get_operator, replace_at, with_constants
from .export import to_latex, to_sympy
from .library import check_names

LOSS_FLOOR = 1e-12   # relative MSE below which two laws count as equally exact


# --------------------------------------------------------------------------- results
@dataclass
class Candidate:
    """One law on the front: its tree, its size and how well it fits."""

    expr: Node
    complexity: int
    loss: float     # mean squared error on the fitting data
    r2: float

    def __str__(self):
        return f"[{self.complexity:3d}] loss={self.loss:.3e} R2={self.r2:.6f}  {self.expr}"


@dataclass
class ParetoFront:
    """Non-dominated laws, simplest first: each is more accurate than every simpler one."""

    candidates: list
    y_var: float = 1.0
    engine: str = "builtin"
    note: str = ""
    seconds: float = 0.0
    history: list = field(default_factory=list)
    stopped: str = ""

    def __post_init__(self):
        self.candidates = pareto_filter(self.candidates, floor=LOSS_FLOOR * max(self.y_var, 1e-300))

    def __iter__(self):
        return iter(self.candidates)

    def __len__(self):
        return len(self.candidates)

    def __getitem__(self, i):
        return self.candidates[i]

    def best(self, rule: str = "score", r2_min: float = 0.999) -> Candidate:
        """Pick one law from the front.

        - ``"score"`` (PySR's "best"): among laws whose loss is within 1.5x of
          the most accurate, the one with the largest drop in log-loss per added
          node, score_i = -Δlog(loss)/Δcomplexity.
        - ``"accuracy"``: the most accurate.
        - ``"r2"``: the simplest with R² ≥ ``r2_min`` (else the most accurate).
        """
        if not self.candidates:
            raise ValueError("the Pareto front is empty: the search found no valid expression")
        if rule == "accuracy":
            return self.candidates[-1]
        if rule == "r2":
            for c in self.candidates:
                if c.r2 >= r2_min:
                    return c
            return self.candidates[-1]
        if rule != "score":
            raise ValueError(f"unknown rule {rule!r}; valid rules are: score, accuracy, r2")
        floor = LOSS_FLOOR * max(self.y_var, 1e-300)
        losses = [max(c.loss, floor) for c in self.candidates]
        best_loss = min(losses)
        chosen, chosen_score = None, -math.inf
        for i, c in enumerate(self.candidates):
            if i == 0:
                score = 0.0
            else:
                prev = self.candidates[i - 1]
                score = -(math.log(losses[i]) - math.log(losses[i - 1])) / (c.complexity - prev.complexity)
            if losses[i] <= 1.5 * best_loss and score > chosen_score:
                chosen, chosen_score = c, score
        return chosen

    def scores(self) -> list:
        """PySR's score per law: −Δlog(loss)/Δcomplexity against the next simpler law (0 for the first)."""
        floor = LOSS_FLOOR * max(self.y_var, 1e-300)
        out = [0.0]
        for prev, c in zip(self.candidates, self.candidates[1:]):
            out.append(-(math.log(max(c.loss, floor)) - math.log(max(prev.loss, floor)))
                       / (c.complexity - prev.complexity))
        return out[:len(self.candidates)]

    def equations(self, rule: str = "score", sympy: bool = True) -> list:
        """The front as rows (like PySR's ``equations_``): complexity, loss, score, r2, equation,
        chosen (the law ``best(rule)`` picks), and with ``sympy`` its SymPy form and LaTeX."""
        chosen = self.best(rule) if self.candidates else None
        rows = []
        for c, score in zip(self.candidates, self.scores()):
            row = {"complexity": c.complexity, "loss": c.loss, "score": score, "r2": c.r2,
                   "equation": str(c.expr), "chosen": c is chosen, "expr": c.expr}
            if sympy:
                row["sympy_format"] = to_sympy(c.expr)
                row["latex"] = to_latex(c.expr)
            rows.append(row)
        return rows

    def table(self, rule: str = "score") -> str:
        """The front as a text table, simplest first; ``<<`` marks the law ``best(rule)`` picks."""
        lines = [f"{'complexity':>10s} {'loss':>11s} {'score':>9s} {'R2':>12s}  equation"]
        for row in self.equations(rule, sympy=False):
            score = row["score"] if abs(row["score"]) > 1e-12 else 0.0
            lines.append(f"{row['complexity']:10d} {row['loss']:11.4e} {score:9.3g} {row['r2']:12.8f}  "
                         f"{row['equation']}{'   <<' if row['chosen'] else ''}")
        return "\n".join(lines)


def pareto_filter(candidates, floor: float = 0.0) -> list:
    """Keep the laws that no simpler law beats (sorted by complexity); losses below ``floor``
    (rounding error) count as equal, so nothing is added after the first exact law."""
    out, best = [], math.inf
    for c in sorted(candidates, key=lambda c: (c.complexity, c.loss)):
        if max(c.loss, floor) < best:
            out.append(c)
            best = max(c.loss, floor)
    return out


def r2_score(y, pred) -> float:
    """Coefficient of determination R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)²."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    ss_tot = np.sum((y - y.mean()) ** 2)
    ss_res = np.sum((y - pred) ** 2)
    if not np.isfinite(ss_res):
        return -math.inf
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else -math.inf)


# --------------------------------------------------------------------------- the search
class GeneticSearch:
    """Multi-gene genetic programming with a Pareto front (see the module docstring).

    Parameters are plain keywords: ``population`` (per island), ``islands``
    (independent populations that swap their best every ``migrate_every``
    generations, as PySR's populations do), ``generations``,
    ``max_genes`` (terms per law), ``max_depth`` (of one gene), the operator
    sets, ``p_const`` (chance a new leaf is a constant), ``parsimony``
    (selection penalty per node, in decades of relative error), ``intercept``
    (a free constant w_0, on by default and left out of the printed law when it
    fits to zero), ``seed``, ``max_seconds`` (a time budget: the search stops
    after the generation that passes it), ``progress`` (a tqdm bar over
    generations; None: only when stderr is a terminal), ``patience``
    (generations without a change in an exact law before stopping early),
    ``seed_genes`` (candidate terms, e.g. a term library, that new genes are
    drawn from with probability ``p_seed``; the search still combines, edits
    and replaces them freely).
    """

    def __init__(self, names, binary_ops=("add", "sub", "mul", "div"), unary_ops=("square", "sqrt", "inv"),
                 population: int = 200, generations: int = 40, max_genes: int = 4, max_depth: int = 4,
                 tournament: int = 4, p_crossover: float = 0.4, p_const: float = 0.05,
                 parsimony: float = 0.02, intercept: bool = True, seed: int = 0,
                 max_seconds: float | None = None, patience: int = 8, refine_every: int = 5,
                 islands: int = 1, migrate_every: int = 10, seed_genes=(), p_seed: float = 0.5,
                 progress: bool | None = None):
        self.names = check_names(names)
        if not self.names:
            raise ValueError("the search needs at least one variable name")
        validate.seed("seed", seed)
        for op in list(binary_ops) + list(unary_ops):
            get_operator(op)
        if any(OPERATORS[o].arity != 2 for o in binary_ops) or any(OPERATORS[o].arity != 1 for o in unary_ops):
            raise ValueError("binary_ops must be two-argument operators and unary_ops one-argument ones")
        if not binary_ops and not unary_ops:
            raise ValueError("give at least one operator")
        if population < 4 or generations < 1 or max_genes < 1 or max_depth < 1:
            raise ValueError("population >= 4, generations >= 1, max_genes >= 1 and max_depth >= 1 are needed")
        self.binary_ops, self.unary_ops = tuple(binary_ops), tuple(unary_ops)
        self.population, self.generations = int(population), int(generations)
        self.max_genes, self.max_depth = int(max_genes), int(max_depth)
        self.tournament, self.p_crossover, self.p_const = int(tournament), float(p_crossover), float(p_const)
        self.parsimony, self.intercept = float(parsimony), bool(intercept)
        if max_seconds is not None and not max_seconds > 0:
            raise ValueError(f"max_seconds (the time budget) must be > 0 seconds, got {max_seconds}")
        self.seed, self.max_seconds, self.patience = seed, max_seconds, int(patience)
        self.progress = progress
        self.refine_every = int(refine_every)
        self.islands, self.migrate_every = max(1, int(islands)), max(1, int(migrate_every))
        self.seed_genes = tuple(seed_genes)
        for g in self.seed_genes:
            if not isinstance(g, Node) or not g.variables() <= set(self.names) or not g.variables():
                raise ValueError(f"seed gene {g!r} must be an expression tree over the variables {self.names}")
        self.p_seed = float(p_seed) if self.seed_genes else 0.0

    # ---------------------------------------------------------------- public
    def fit(self, X, y) -> ParetoFront:
        X, y = check_data(X, y, self.names)
        self.rng = np.random.default_rng(self.seed)
        self.env = {n: X[:, i] for i, n in enumerate(self.names)}
        self.y = y
        self.y_var = float(np.var(y)) if np.var(y) > 0 else 1.0
        self._cache = {}
        self.hall = {}  # complexity -> (loss, genes, weights)
        t0 = time.time()
        islands = []
        for _ in range(self.islands):
            pop = [self._evaluate(self._random_individual()) for _ in range(self.population)]
            islands.append([p for p in pop if p is not None])
        history, stable, last_front = [], 0, None
        self.stopped = "generations"
        from tqdm.auto import tqdm
        bar = tqdm(total=self.generations, desc="symbolic search", unit="gen", leave=False,
                   disable=None if self.progress is None else not self.progress)
        for gen in range(self.generations):
            for k, pop in enumerate(islands):
                if gen and self.refine_every and gen % self.refine_every == 0:
                    pop = self._refine_best(pop)
                islands[k] = self._next_generation(pop)
            if self.islands > 1 and gen % self.migrate_every == self.migrate_every - 1:
                # ring migration: each island's best few go to the next island
                best = [sorted(p, key=lambda q: q[0])[:2] for p in islands]
                for k in range(self.islands):
                    islands[k] = islands[k] + best[k - 1]
            best_nmse = min(v[0] for v in self.hall.values()) / self.y_var
            history.append({"generation": gen, "best_nmse": best_nmse, "front_size": len(self.hall)})
            bar.update(1)
            bar.set_postfix(best_nmse=f"{best_nmse:.2e}", front=len(self.hall), refresh=False)
            # the simplest law that fits to rounding error; stop once it has not changed for a while
            exact = [c for c, v in self.hall.items() if v[0] / self.y_var <= LOSS_FLOOR]
            front_key = min(exact) if exact else None
            stable = stable + 1 if (front_key is not None and front_key == last_front) else 0
            last_front = front_key
            if stable >= self.patience:
                self.stopped = f"converged (the simplest exact law unchanged for {self.patience} generations)"
                break
            if self.max_seconds is not None and time.time() - t0 > self.max_seconds:
                self.stopped = f"time budget of {self.max_seconds:g} s reached after {gen + 1} generations"
                break
        bar.close()
        self._refine_hall()
        candidates = [self._candidate(genes, w, loss) for loss, genes, w in self.hall.values()]
        front = ParetoFront(candidates, y_var=self.y_var, engine="builtin", seconds=time.time() - t0,
                            history=history)
        front.stopped = self.stopped
        return front

    # ---------------------------------------------------------------- individuals
    def _random_individual(self):
        n = self.rng.integers(1, self.max_genes + 1)
        return tuple(self._random_gene() for _ in range(n))

    def _random_gene(self, depth=None):
        if self.p_seed and self.rng.random() < self.p_seed:
            return self.seed_genes[self.rng.integers(len(self.seed_genes))]
        for _ in range(20):
            g = self._random_tree(self.rng.integers(1, self.max_depth + 1) if depth is None else depth)
            if g.variables():
                return g
        return Var(self.names[self.rng.integers(len(self.names))])

    def _random_tree(self, depth):
        if depth <= 1 or self.rng.random() < 0.25:
            return self._random_leaf()
        n_ops = len(self.binary_ops) + len(self.unary_ops)
        k = self.rng.integers(n_ops)
        if k < len(self.binary_ops):
            return Op(self.binary_ops[k], self._random_tree(depth - 1), self._random_tree(depth - 1))
        return Op(self.unary_ops[k - len(self.binary_ops)], self._random_tree(depth - 1))

    def _random_leaf(self):
        if self.rng.random() < self.p_const:
            return Const(round(float(self.rng.uniform(-3, 3)), 3))
        return Var(self.names[self.rng.integers(len(self.names))])

    def _gene_value(self, gene):
        key = gene.key()
        v = self._cache.get(key)
        if v is None:
            v = np.broadcast_to(gene.evaluate(self.env), self.y.shape).astype(float)
            if len(self._cache) > 50000:
                self._cache.clear()
            self._cache[key] = v
        return v

    def _design(self, genes):
        cols = [self._gene_value(g) for g in genes]
        if self.intercept:
            cols.append(np.ones_like(self.y))
        G = np.stack(cols, axis=1)
        if not np.all(np.isfinite(G)):
            return None
        # a gene that does not vary (vx/vx) is a disguised constant: not a law of the state
        spread = G[:, :len(genes)].std(axis=0)
        if np.any(spread <= 1e-9 * (np.abs(G[:, :len(genes)]).max(axis=0) + 1e-300)):
            return None
        return G

    def _complexity(self, genes):
        """Nodes of  w1*g1 + w2*g2 + ... (+ w0)."""
        return sum(g.complexity() + 2 for g in genes) - 1 + (2 if self.intercept else 0)

    def _evaluate(self, genes):
        """(fitness, loss, genes, weights) or None for an invalid law."""
        if not genes or len(genes) > self.max_genes:
            return None
        if any(g.depth() > self.max_depth + 1 for g in genes):
            return None
        G = self._design(genes)
        if G is None:
            return None
        w, *_ = np.linalg.lstsq(G, self.y, rcond=None)
        r = self.y - G @ w
        loss = float(np.mean(r * r))
        if not math.isfinite(loss):
            return None
        c = self._complexity(genes)
        self._remember(c, loss, genes, w)
        fitness = math.log10(max(loss / self.y_var, LOSS_FLOOR)) + self.parsimony * c
        return (fitness, loss, genes, w)

    def _remember(self, c, loss, genes, w):
        old = self.hall.get(c)
        if old is None or loss < old[0]:
            self.hall[c] = (loss, genes, w)

    def _candidate(self, genes, w, loss):
        # an intercept that fits to zero (rounding) is not part of the law
        keep = self.intercept and abs(w[-1]) > 1e-9 * (np.sqrt(self.y_var) + abs(float(np.mean(self.y))))
        expr = assemble(genes, w if keep or not self.intercept else w[:-1], keep)
        return Candidate(expr, expr.complexity(), loss, 1.0 - loss / self.y_var)

    # ---------------------------------------------------------------- evolution
    def _next_generation(self, pop):
        pop = sorted(pop, key=lambda p: p[0])
        new = pop[:max(2, self.population // 20)]          # elitism
        hall = list(self.hall.values())                    # keep the front alive
        for loss, genes, w in hall[: self.population // 10]:
            ev = self._evaluate(genes)
            if ev is not None:
                new.append(ev)
        seen = {frozenset(g.key() for g in p[2]) for p in new}
        tries = 0
        while len(new) < self.population and tries < 20 * self.population:
            tries += 1
            if self.rng.random() < self.p_crossover:
                child = self._crossover(self._select(pop)[2], self._select(pop)[2])
            else:
                child = self._mutate(self._select(pop)[2])
            if child is None:
                continue
            key = frozenset(g.key() for g in child)
            if key in seen:          # no clones: keep the population diverse
                continue
            ev = self._evaluate(child)
            if ev is not None:
                new.append(ev)
                seen.add(key)
        return new

    def _select(self, pop):
        idx = self.rng.integers(len(pop), size=min(self.tournament, len(pop)))
        return min((pop[i] for i in idx), key=lambda p: p[0])

    def _crossover(self, a, b):
        if self.rng.random() < 0.5:
            # high level: a child made of genes drawn from both parents
            pool = list(a) + [g for g in b if g not in a]
            n = self.rng.integers(1, min(self.max_genes, len(pool)) + 1)
            pick = self.rng.choice(len(pool), size=n, replace=False)
            return tuple(pool[i] for i in sorted(pick))
        # low level: a subtree of one of b's genes grafted into one of a's
        ia = self.rng.integers(len(a))
        ga, gb = a[ia], b[self.rng.integers(len(b))]
        donor = gb.nodes()[self.rng.integers(gb.complexity())]
        child = replace_at(ga, self.rng.integers(ga.complexity()), donor)
        if not child.variables():
            return None
        return a[:ia] + (child,) + a[ia + 1:]

    def _mutate(self, genes):
        genes = list(genes)
        kind = self.rng.integers(8)
        i = self.rng.integers(len(genes))
        g = genes[i]
        if kind == 0 and len(genes) < self.max_genes:                      # add a gene
            genes.append(self._random_gene())
        elif kind == 1 and len(genes) > 1:                                 # drop a gene
            genes.pop(i)
        elif kind == 2:                                                    # new subtree
            genes[i] = replace_at(g, self.rng.integers(g.complexity()), self._random_tree(2))
        elif kind == 3:                                                    # point mutation
            genes[i] = self._point_mutation(g)
        elif kind == 4 and self.unary_ops:                                 # wrap in a unary op
            j = self.rng.integers(g.complexity())
            op = self.unary_ops[self.rng.integers(len(self.unary_ops))]
            genes[i] = replace_at(g, j, Op(op, g.nodes()[j]))
        elif kind == 5:                                                    # hoist a child
            ops = [j for j, n in enumerate(g.nodes()) if isinstance(n, Op)]
            if ops:
                j = ops[self.rng.integers(len(ops))]
                node = g.nodes()[j]
                genes[i] = replace_at(g, j, node.children[self.rng.integers(len(node.children))])
        elif kind == 6 and self.binary_ops:                                # combine with a leaf
            j = self.rng.integers(g.complexity())
            op = self.binary_ops[self.rng.integers(len(self.binary_ops))]
            genes[i] = replace_at(g, j, Op(op, g.nodes()[j], self._random_leaf()))
        else:                                                              # a fresh gene
            genes[i] = self._random_gene()
        if not genes[i if i < len(genes) else -1].variables():
            return None
        return tuple(genes)

    def _point_mutation(self, g):
        nodes = g.nodes()
        j = self.rng.integers(len(nodes))
        n = nodes[j]
        if isinstance(n, Const):
            new = Const(n.value * (1 + 0.2 * self.rng.standard_normal()))
        elif isinstance(n, Var):
            new = Var(self.names[self.rng.integers(len(self.names))])
        else:
            same = self.binary_ops if len(n.children) == 2 else self.unary_ops
            new = Op(same[self.rng.integers(len(same))], *n.children)
        return replace_at(g, j, new)

    # ---------------------------------------------------------------- constants
    def _refine_best(self, pop, k: int = 5):
        pop = sorted(pop, key=lambda p: p[0])
        out = list(pop)
        for idx in range(min(k, len(pop))):
            genes = pop[idx][2]
            if any(constants(g) for g in genes):
                new = fit_gene_constants(genes, self.env, self.y, self.intercept)
                ev = self._evaluate(new)
                if ev is not None and ev[1] < pop[idx][1]:
                    out[idx] = ev
        return out

    def _refine_hall(self):
        for c, (loss, genes, w) in list(self.hall.items()):
            if any(constants(g) for g in genes):
                new = fit_gene_constants(genes, self.env, self.y, self.intercept)
                self._evaluate(new)


# --------------------------------------------------------------------------- helpers
def assemble(genes, weights, intercept: bool = False) -> Node:
    """The tree  w1*g1 + w2*g2 + ... (+ w0)  of a multi-gene individual."""
    parts = [Op("mul", Const(float(w)), g) for g, w in zip(genes, weights)]
    if intercept:
        parts.append(Const(float(weights[-1])))
    out = parts[0]
    for p in parts[1:]:
        out = Op("add", out, p)
    return out


def fit_gene_constants(genes, env, y, intercept=False):
    """Fit the constants inside genes by least squares, re-solving the outer weights each step."""
    from scipy.optimize import least_squares

    sizes = [len(constants(g)) for g in genes]
    theta0 = np.array([v for g in genes for v in constants(g)], float)
    if theta0.size == 0:
        return tuple(genes)

    def rebuild(theta):
        out, k = [], 0
        for g, s in zip(genes, sizes):
            out.append(with_constants(g, theta[k:k + s]) if s else g)
            k += s
        return out

    def residual(theta):
        cols = [np.broadcast_to(g.evaluate(env), y.shape) for g in rebuild(theta)]
        if intercept:
            cols.append(np.ones_like(y))
        G = np.stack(cols, axis=1)
        if not np.all(np.isfinite(G)):
            return np.full_like(y, 1e6)
        w = np.linalg.lstsq(G, y, rcond=None)[0]
        return y - G @ w

    try:
        sol = least_squares(residual, theta0, max_nfev=50 * (theta0.size + 1))
        theta = sol.x
    except Exception:  # a failed refinement keeps the old constants
        theta = theta0
    return tuple(rebuild(theta))


def fit_constants(expr: Node, X, y, names) -> Node:
    """Fit every constant of ``expr`` to the data (scipy.optimize.least_squares)."""
    from scipy.optimize import least_squares

    X, y = check_data(X, y, names)
    env = {n: X[:, i] for i, n in enumerate(names)}
    theta0 = np.array(constants(expr), float)
    if theta0.size == 0:
        return expr

    def residual(theta):
        r = y - np.broadcast_to(with_constants(expr, theta).evaluate(env), y.shape)
        return np.where(np.isfinite(r), r, 1e6)

    sol = least_squares(residual, theta0)
    return with_constants(expr, sol.x)


def check_data(X, y, names):
    """(X, y) as float arrays, checked against ``names`` (one distinct name per column of X)."""
    names = check_names(names)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must be (n_samples, {len(names)}) for the variables {list(names)}, got shape {X.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    if X.shape[0] < 3:
        raise ValueError("need at least 3 samples to fit a law")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite (found NaN or inf); drop or fix those samples")
    return X, y
