"""Specs for the activations (refgrad/ops/activations.py): torch.nn.functional spellings, the torch.* and
Tensor-method ones, and in-place forms (applied to ``x * 1`` so a leaf is never written).

Each domain puts the op's kinks in as special points (0 for relu, ±1 for hardtanh, 0 and 6 for relu6, ±3 for
hardswish/hardsigmoid, ±lambd for the shrinks, the threshold itself). Ops whose torch gradient at a NaN input
depends on whether the element lands in torch's vectorized CPU loop or its scalar tail (hardtanh/relu6,
elu/selu/celu, hardswish, softshrink, hardshrink) keep NaN out of their domains: refgrad follows the scalar path.
"""
import math

from hypothesis import strategies as st

from conformance.specs._spec import BOOL, FLOAT, INT, Domain, Kwargs, OpSpec, Shapes, func, shapes, tensor
from conformance.specs.unary import TANH_SATURATION_REASON, TANH_SATURATION_TOL

_F = "nn.functional."
_INFINITIES = (math.inf, -math.inf)
_KINKS = Domain(-10.0, 10.0, specials=(0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5))
_KINKS_NO_NAN = Domain(-10.0, 10.0, specials=(0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 2.0, -2.0),
                       nonfinite=_INFINITIES)
_SMOOTH = Domain(-10.0, 10.0)


def _f(name: str, domain: Domain = _KINKS, **options) -> OpSpec:
    """``torch.nn.functional.<name>(x, **kwargs)`` on one tensor."""
    return OpSpec(_F + name, func(_F + name), args=(tensor(domain),), **options)


def _choices(**values):
    """A kwargs factory drawing each named argument (optional) from the listed values."""
    def factory(_shapes):
        return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in values.items()})
    return factory


def _invalid(**values):
    def factory(_shapes):
        return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in values.items()})
    return factory


def _hardtanh_kwargs(_shapes):
    return st.sampled_from([{}, {"min_val": -0.5, "max_val": 2.0}, {"min_val": 0.0, "max_val": 6.0},
                            {"min_val": -3.0, "max_val": -1.0}, {"min_val": 1.0, "max_val": 1.0}])


def _threshold_kwargs(_shapes):
    return st.fixed_dictionaries({"threshold": st.sampled_from([0.0, 0.5, -1.0, 3.0]),
                                  "value": st.sampled_from([0.0, 2.0, -3.0, 0.5])})


def _rrelu_kwargs(_shapes):
    return st.sampled_from([{}, {"lower": 0.1, "upper": 0.5}, {"lower": 0.2, "upper": 0.2},
                            {"lower": 0.0, "upper": 1.0}])


def _even_shapes():
    """One shape whose every side is even (0 included), so glu can halve any dim."""
    return shapes(min_dims=1, max_dims=3, max_side=2).map(lambda s: (tuple(2 * side for side in s),))


def _glu_kwargs(drawn):
    ndim = max(len(drawn[0]), 1)  # a 0-d input (an invalid-shape draw) still gets a dim
    return st.fixed_dictionaries({}, optional={"dim": st.integers(-ndim, ndim - 1)})


def _glu_invalid_kwargs(drawn):
    ndim = max(len(drawn[0]), 1)
    return st.fixed_dictionaries({"dim": st.sampled_from([ndim, -ndim - 1, ndim + 2])})


def _prelu_shapes():
    """(input shape, weight shape): a shared weight (1,) or () for any input, or one weight per channel (dim 1)."""
    @st.composite
    def pair(draw):
        shape = draw(shapes(min_dims=0, max_dims=4, max_side=3), label="input shape")
        options = [(1,), ()]
        if len(shape) >= 2:
            options.append((shape[1],))
        return (shape, draw(st.sampled_from(options), label="weight shape"))
    return pair()


def _prelu_bad_shapes():
    return st.sampled_from([((2, 3), (2,)), ((4,), (4,)), ((2, 3, 4), (4,)), ((2, 3), (3, 1)), ((), (2,))])


_ODD = st.sampled_from([((3,),), ((2, 5),), ((),)])

SPECS = [
    OpSpec("relu", func("relu"), args=(tensor(_KINKS),), dtypes=FLOAT + INT),
    OpSpec("relu.method", lambda t, x: x.relu(), args=(tensor(_KINKS),), dtypes=FLOAT + INT),
    OpSpec("relu_", lambda t, x: t.relu_(x * 1), args=(tensor(_KINKS),)),
    _f("relu", kwargs=_choices(inplace=[False])),
    OpSpec("nn.functional.relu.inplace", lambda t, x: t.nn.functional.relu(x * 1, inplace=True),
           args=(tensor(_KINKS),)),
    _f("relu6", _KINKS_NO_NAN, dtypes=FLOAT + INT),
    _f("hardtanh", _KINKS_NO_NAN, kwargs=Kwargs(_hardtanh_kwargs, _invalid(min_val=[1.0], max_val=[-1.0]))),
    OpSpec("nn.functional.hardtanh_", lambda t, x, **kw: t.nn.functional.hardtanh_(x * 1, **kw),
           args=(tensor(_KINKS_NO_NAN),), kwargs=Kwargs(_hardtanh_kwargs)),
    _f("leaky_relu", kwargs=_choices(negative_slope=[0.01, 0.2, 0.0, -0.5, 1.5])),
    OpSpec("nn.functional.leaky_relu_", lambda t, x, **kw: t.nn.functional.leaky_relu_(x * 1, **kw),
           args=(tensor(_KINKS),), kwargs=_choices(negative_slope=[0.01, 0.2, 0.0, 1.5])),
    _f("elu", _KINKS_NO_NAN, kwargs=_choices(alpha=[1.0, 0.5, 2.0, -0.5])),
    OpSpec("nn.functional.elu_", lambda t, x, **kw: t.nn.functional.elu_(x * 1, **kw),
           args=(tensor(_KINKS_NO_NAN),), kwargs=_choices(alpha=[1.0, 0.5, 2.0])),
    OpSpec("selu", func("selu"), args=(tensor(_KINKS_NO_NAN),)),
    OpSpec("selu_", lambda t, x: t.selu_(x * 1), args=(tensor(_KINKS_NO_NAN),)),
    _f("selu", _KINKS_NO_NAN),
    OpSpec("celu", func("celu"), args=(tensor(_KINKS_NO_NAN),),
           kwargs=Kwargs(_choices(alpha=[1.0, 0.5, 2.0, -1.0]), _invalid(alpha=[0.0]))),
    OpSpec("celu_", lambda t, x, **kw: t.celu_(x * 1, **kw), args=(tensor(_KINKS_NO_NAN),),
           kwargs=_choices(alpha=[1.0, 0.5, 2.0])),
    _f("gelu", kwargs=Kwargs(_choices(approximate=["none", "tanh"]), _invalid(approximate=["foo", "exact"]))),
    _f("silu"),
    OpSpec("nn.functional.silu.inplace", lambda t, x: t.nn.functional.silu(x * 1, inplace=True),
           args=(tensor(_KINKS),)),
    _f("mish", tol=TANH_SATURATION_TOL, tol_reason=TANH_SATURATION_REASON),
    _f("softplus", kwargs=_choices(beta=[1.0, 2.0, 0.5, -1.0], threshold=[20.0, 1.0, 5.0])),
    _f("softsign", dtypes=FLOAT + INT),
    _f("hardsigmoid", gradgrad=False),
    _f("hardswish", _KINKS_NO_NAN),
    OpSpec("nn.functional.hardswish.inplace", lambda t, x: t.nn.functional.hardswish(x * 1, inplace=True),
           args=(tensor(_KINKS_NO_NAN),)),
    _f("logsigmoid"),
    _f("tanhshrink", dtypes=FLOAT + INT, tol=TANH_SATURATION_TOL, tol_reason=TANH_SATURATION_REASON),
    _f("softshrink", _KINKS_NO_NAN, kwargs=Kwargs(_choices(lambd=[0.5, 0.0, 1.0, 2.0]), _invalid(lambd=[-1.0, -0.5]))),
    _f("hardshrink", _KINKS_NO_NAN, kwargs=_choices(lambd=[0.5, 0.0, 1.0, 2.0, -1.0])),
    OpSpec("hardshrink.method", lambda t, x, **kw: x.hardshrink(**kw), args=(tensor(_KINKS_NO_NAN),),
           kwargs=_choices(lambd=[0.5, 1.0])),
    OpSpec("threshold", func("threshold"), args=(tensor(_KINKS),), kwargs=Kwargs(_threshold_kwargs),
           dtypes=FLOAT + INT),
    OpSpec("nn.functional.threshold_", lambda t, x, **kw: t.nn.functional.threshold_(x * 1, **kw),
           args=(tensor(_KINKS),), kwargs=Kwargs(_threshold_kwargs)),
    OpSpec("nn.functional.glu", func("nn.functional.glu"), args=(tensor(_SMOOTH),),
           shapes=Shapes(_even_shapes(), invalid=_ODD), kwargs=Kwargs(_glu_kwargs, _glu_invalid_kwargs)),
    OpSpec("nn.functional.prelu", func("nn.functional.prelu"), args=(tensor(_KINKS), tensor(_SMOOTH)),
           shapes=Shapes(_prelu_shapes(), invalid=_prelu_bad_shapes())),
    OpSpec("prelu.method", lambda t, x, w: x.prelu(w), args=(tensor(_KINKS), tensor(_SMOOTH)),
           shapes=Shapes(_prelu_shapes())),
    _f("rrelu", kwargs=Kwargs(_rrelu_kwargs, _invalid(lower=[0.5], upper=[0.1]))),
    OpSpec("rrelu_", lambda t, x, **kw: t.rrelu_(x * 1, **kw), args=(tensor(_KINKS),), kwargs=Kwargs(_rrelu_kwargs)),
    _f("tanh", dtypes=FLOAT, tol=TANH_SATURATION_TOL, tol_reason=TANH_SATURATION_REASON),
    _f("sigmoid", dtypes=FLOAT + INT),
    OpSpec("activations.bool_inputs", lambda t, x: t.relu(x), args=(tensor(_KINKS),), dtypes=BOOL),
]
