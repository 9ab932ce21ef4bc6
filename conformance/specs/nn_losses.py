"""Specs for the torch.nn.functional losses (refgrad/ops/losses.py; binary_cross_entropy_with_logits in nn.py).

Every loss runs with each reduction; class-index targets are drawn as floats in [0, C-1] and cast with .long()
(or .byte()) inside ``fn`` (the harness draws one dtype per example). Kinks (|d| = beta, d = 0, margins) come from the
strategies' special points: targets and inputs often tie at small integers.
"""
from hypothesis import strategies as st

from conformance.specs._spec import (
    PROBABILITY,
    SMALL,
    Domain,
    Kwargs,
    OpSpec,
    Shapes,
    func,
    mismatched_shapes,
    same_shapes,
    tensor,
)

F = "nn.functional."
TIES = Domain(-3.0, 3.0, specials=(0.0, 1.0, -1.0, 0.5, 2.0))
CLASSES = Domain(0.0, 2.0, specials=(0.0, 1.0, 2.0), nonfinite=())
SIGN = Domain(-1.0, 1.0, specials=(-1.0, 1.0), nonfinite=())
POS = Domain(0.01, 5.0, specials=(0.0, 1.0, 2.0), nonfinite=())
OPEN_UNIT = Domain(0.02, 0.98, specials=(0.5,), nonfinite=())
MAGNITUDE = Domain(0.5, 3.0, specials=(0.5, 1.0, 2.0, 3.0))  # times a random sign: away from 0
REDUCTION = st.sampled_from(["mean", "sum", "none"])


def _reduction(extra=None):
    def factory(_shapes):
        return st.fixed_dictionaries({"reduction": REDUCTION}, optional=extra or {})
    return factory


def _pair_spec(name, extra=None, domains=(TIES, TIES), **options):
    return OpSpec(f"nn.functional.{name}", func(F + name), args=(tensor(domains[0]), tensor(domains[1])),
                  shapes=Shapes(same_shapes(2), invalid=mismatched_shapes(2)),
                  kwargs=Kwargs(_reduction(extra), lambda _s: st.just({"reduction": "average"})), **options)


@st.composite
def _class_shapes(draw, kdim=False):
    n = draw(st.integers(1, 4), label="batch")
    extra = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2)))) if kdim else ()
    return ((n, 3) + extra, (n,) + extra, (3,))


def _nll_fn(loss):
    source = (f"lambda t, x, y, w, **kw: t.nn.functional.{loss}(x, getattr(y, kw.pop('target'))(), "
              "weight=w if kw.pop('weighted') else None, **kw)")
    fn = eval(source)  # noqa: S307 - constant source, pasted into reproducers
    fn.__conformance_source__ = source
    return fn


def _nll_kwargs(label_smoothing, targets=None):
    """``target``: the method that casts the drawn targets: long, or byte as well for (C) and (N, C) inputs (torch's
    kernels for more dimensions take int64 only); ``targets`` overrides the choice (the invalid dtypes)."""
    def factory(shapes):
        if targets is None:
            targets_ = st.sampled_from(["long", "long", "byte"]) if len(shapes[0]) <= 2 else st.just("long")
        else:
            targets_ = targets
        parts = {"reduction": REDUCTION, "weighted": st.booleans(), "ignore_index": st.sampled_from([-100, 1]),
                 "target": targets_}
        if label_smoothing:
            parts["label_smoothing"] = st.sampled_from([0.0, 0.2])
        return st.fixed_dictionaries(parts)
    return factory


@st.composite
def _bad_class_shapes(draw):
    """Inputs nll_loss rejects, one check each (torch's order decides which error: the exception types compared)."""
    n = draw(st.integers(1, 4), label="batch")
    return draw(st.sampled_from([
        ((n, 3), (n + 1,), (3,)),  # batch sizes differ: ValueError
        ((n, 3), (n, 1), (3,)),  # several targets per row: RuntimeError
        ((3,), (2,), (3,)),  # an unbatched input with two targets: ValueError
        ((n, 3, 2), (n, 3), (3,)),  # spatial sizes differ: RuntimeError
        ((n, 3, 2, 2), (n, 2), (3,)),  # a 4-d input with a 2-d target: RuntimeError
        ((n, 3), (n,), (2,)),  # two class weights for three classes (when weighted): RuntimeError
    ]), label="invalid shapes")


def _nll_shapes():
    return Shapes(st.booleans().flatmap(lambda k: _class_shapes(kdim=k)), invalid=_bad_class_shapes())


def _nll_kwargs_all(label_smoothing):
    """Valid kwargs, and targets of a dtype torch refuses (RuntimeError "expected target dtype to be Long or Byte")."""
    return Kwargs(_nll_kwargs(label_smoothing), _nll_kwargs(label_smoothing, st.sampled_from(["int", "float", "bool"])))


SPECS = [
    _pair_spec("mse_loss"),
    _pair_spec("l1_loss"),
    _pair_spec("smooth_l1_loss", {"beta": st.sampled_from([1.0, 0.5, 0.0, 2.0])}),
    _pair_spec("huber_loss", {"delta": st.sampled_from([1.0, 0.5, 2.0])}),
    OpSpec("nn.functional.binary_cross_entropy", func(F + "binary_cross_entropy"),
           args=(tensor(PROBABILITY), tensor(PROBABILITY), tensor(PROBABILITY, differentiable=False)),
           shapes=Shapes(same_shapes(3), invalid=mismatched_shapes(3)), kwargs=_reduction()),
    OpSpec("nn.functional.binary_cross_entropy_with_logits.weights",
           lambda t, x, y, w, pw, **kw: t.nn.functional.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw,
                                                                                          **kw),
           args=(tensor(SMALL), tensor(PROBABILITY), tensor(PROBABILITY, differentiable=False),
                 tensor(POS, differentiable=False)),
           shapes=same_shapes(4, min_dims=1), kwargs=_reduction()),
    OpSpec("nn.functional.nll_loss", _nll_fn("nll_loss"),
           args=(tensor(SMALL), tensor(CLASSES, differentiable=False), tensor(POS, differentiable=False)),
           shapes=_nll_shapes(), kwargs=_nll_kwargs_all(False)),
    OpSpec("nn.functional.cross_entropy", _nll_fn("cross_entropy"),
           args=(tensor(SMALL), tensor(CLASSES, differentiable=False), tensor(POS, differentiable=False)),
           shapes=_nll_shapes(), kwargs=_nll_kwargs_all(True),
           tol={"float32": (1e-5, 1e-5)}, tol_reason="float32 log_softmax: summation order differs"),
    OpSpec("nn.functional.cross_entropy.probs",
           lambda t, x, y, **kw: t.nn.functional.cross_entropy(x, y, **kw),
           args=(tensor(SMALL), tensor(PROBABILITY)), shapes=same_shapes(2, min_dims=2, min_side=1),
           kwargs=_reduction({"label_smoothing": st.sampled_from([0.0, 0.3])}),
           tol={"float32": (1e-5, 1e-5)}, tol_reason="float32 log_softmax: summation order differs"),
    OpSpec("nn.functional.kl_div", func(F + "kl_div"), args=(tensor(SMALL), tensor(POS)), shapes=same_shapes(2),
           kwargs=lambda _s: st.fixed_dictionaries({"reduction": st.sampled_from(["sum", "none", "batchmean"]),
                                                    "log_target": st.booleans()})),
    OpSpec("nn.functional.soft_margin_loss", func(F + "soft_margin_loss"),
           args=(tensor(SMALL), tensor(SIGN, differentiable=False)), shapes=same_shapes(2), kwargs=_reduction()),
    OpSpec("nn.functional.margin_ranking_loss", func(F + "margin_ranking_loss"),
           args=(tensor(TIES), tensor(TIES), tensor(SIGN, differentiable=False)), shapes=same_shapes(3),
           kwargs=_reduction({"margin": st.sampled_from([0.0, 0.5, 1.0])})),
    OpSpec("nn.functional.hinge_embedding_loss",
           lambda t, x, y, **kw: t.nn.functional.hinge_embedding_loss(x, (y >= 0).to(x.dtype) * 2 - 1, **kw),
           args=(tensor(TIES), tensor(SIGN, differentiable=False)), shapes=same_shapes(2),
           kwargs=_reduction({"margin": st.sampled_from([1.0, 0.5, 2.0])})),
    # |x| >= 0.5 with random signs: near the zero vector (|x| ~ sqrt(1e-12) and below) torch's eps makes the cosine
    # ill-conditioned, and a 1-ulp float32 sqrt difference (torch's sqrt is not correctly rounded everywhere)
    # grows into differences of 16 % (x1.grad 0.00116 vs 0.00098); the gradient of a 1-D cosine, exactly 0,
    # is then a cancellation of terms of size 1/|x|
    OpSpec("nn.functional.cosine_embedding_loss",
           lambda t, a, b, sa, sb, y, **kw: t.nn.functional.cosine_embedding_loss(
               a * ((sa >= 0).to(a.dtype) * 2 - 1), b * ((sb >= 0).to(b.dtype) * 2 - 1), (y >= 0).to(a.dtype) * 2 - 1,
               **kw),
           args=(tensor(MAGNITUDE), tensor(MAGNITUDE), tensor(SIGN, differentiable=False),
                 tensor(SIGN, differentiable=False), tensor(SIGN, differentiable=False)),
           shapes=st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda s: (s, s, s, s, s[:1])),
           kwargs=_reduction({"margin": st.sampled_from([0.0, 0.5, -0.5])}),
           tol={"float32": (1.3e-6, 3e-4)}, tol_reason=(
               "float32 derivatives of a cosine of (nearly) parallel vectors vanish (exactly, in 1-D) and come out "
               "as a cancellation of terms of size g/|x| and g*gg/|x|^2 (up to ~400 here): 1.5e-5 vs -0 at "
               "x1 = x2 = 0.5, g = 2, gg = 8.2")),
    OpSpec("nn.functional.poisson_nll_loss", func(F + "poisson_nll_loss"), args=(tensor(SMALL), tensor(POS)),
           shapes=same_shapes(2), kwargs=_reduction({"log_input": st.booleans(), "full": st.booleans()})),
    OpSpec("nn.functional.gaussian_nll_loss", func(F + "gaussian_nll_loss"),
           args=(tensor(SMALL), tensor(SMALL), tensor(POS)),
           shapes=st.tuples(st.integers(1, 3), st.integers(1, 3)).map(lambda s: (s, s, s[:1])),
           kwargs=_reduction({"full": st.booleans(), "eps": st.sampled_from([1e-6, 0.5])})),
    OpSpec("nn.functional.multi_margin_loss",
           lambda t, x, y, w, **kw: t.nn.functional.multi_margin_loss(x, y.long(), weight=w if kw.pop("weighted", False)
                                                                      else None, **kw),
           args=(tensor(TIES), tensor(CLASSES, differentiable=False), tensor(POS, differentiable=False)),
           shapes=st.integers(1, 4).map(lambda n: ((n, 3), (n,), (3,))),
           kwargs=_reduction({"p": st.sampled_from([1, 2]), "margin": st.sampled_from([1.0, 0.5]),
                              "weighted": st.booleans()})),
    OpSpec("nn.functional.triplet_margin_loss", func(F + "triplet_margin_loss"),
           args=(tensor(SMALL), tensor(SMALL), tensor(SMALL)),
           shapes=st.tuples(st.integers(1, 3), st.integers(1, 3)).map(lambda s: (s, s, s)),
           kwargs=_reduction({"margin": st.sampled_from([1.0, 0.0]), "p": st.sampled_from([2.0, 1.0]),
                              "swap": st.booleans()})),
]
