"""The spec API (conformance.specs._spec) and every registered spec, whichever family file it lives in."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.examples import draw_inputs
from conformance.source import free_globals, function_source
from conformance.specs import all_specs, families, get_spec
from conformance.specs._spec import (
    POSITIVE,
    Kwargs,
    OpSpec,
    Shapes,
    binary,
    dims,
    func,
    method,
    same_shapes,
    scalar,
    tensor,
    unary,
)

SPECS = all_specs()


def test_names_are_unique_and_families_are_module_names():
    assert len({s.name for s in SPECS}) == len(SPECS)
    assert "tutorial" in families()
    assert all(s.family for s in SPECS)


def test_tutorial_ops_are_all_there():
    for name in ["add", "add.scalar", "add.rscalar", "sub", "mul", "div", "div.rscalar", "neg", "pow",
                 "pow.scalar", "matmul", "sum", "sum.dim", "mean", "t", "norm", "exp", "log", "eq", "all",
                 "nn.functional.binary_cross_entropy_with_logits"]:
        assert get_spec(name).family == "tutorial"


def test_unknown_spec_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown op 'nope'"):
        get_spec("nope")


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_function_is_self_contained(spec):
    """Reproducers paste fn's source: it must be recoverable and use no globals."""
    source = function_source(spec.fn)
    namespace: dict = {}
    exec(source, namespace)
    assert callable(namespace["fn"])
    assert not free_globals(spec.fn), f"{spec.name}: fn uses globals {free_globals(spec.fn)}"


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_spec_draws_valid_and_invalid_examples(spec):
    """Strategies of every spec draw (catches authoring mistakes before any property runs)."""
    @settings(max_examples=3, database=None, deadline=None)
    @given(data=st.data())
    def draw(data):
        for dtype in spec.dtypes:
            inputs, kwargs = draw_inputs(data, spec, dtype)
            assert len(inputs) == len(spec.args) and isinstance(kwargs, dict)
            if spec.has_invalid_shapes:
                draw_inputs(data, spec, dtype, invalid_shapes=True)
            if spec.has_invalid_kwargs:
                draw_inputs(data, spec, dtype, invalid_kwargs=True)
    draw()


def test_one_line_unary_and_binary_helpers():
    tanh = unary("tanh")
    assert tanh.name == "tanh" and tanh.dtypes == ("float64", "float32") and len(tanh.args) == 1
    assert unary("log", POSITIVE).args[0].domain is POSITIVE
    names = [s.name for s in binary("mul", "*")]
    assert names == ["mul", "mul.scalar", "mul.rscalar"]
    assert [s.name for s in binary("atan2")] == ["atan2"]
    import torch
    assert func("nn.functional.relu")(torch, torch.tensor([-1.0])).tolist() == [0.0]
    assert method("sum")(torch, torch.ones(2, 3), dim=0).tolist() == [2.0, 2.0, 2.0]


def test_spec_validation():
    with pytest.raises(ValueError, match="first parameter"):
        OpSpec("bad", lambda x: x)
    with pytest.raises(ValueError, match="tol_reason"):
        OpSpec("bad", lambda t, x: x, tol={"float32": (1e-4, 1e-4)})
    with pytest.raises(ValueError, match="unknown properties"):
        OpSpec("bad", lambda t, x: x, known={"vjpp": "typo"})
    with pytest.raises(ValueError, match="identifier"):
        OpSpec("has space", lambda t, x: x)
    ok = OpSpec("ok", lambda t, x: x, tol={"float32": (1e-4, 1e-4)}, tol_reason="accumulation order")
    assert ok.tolerance("float32") == (1e-4, 1e-4) and ok.tolerance("float64") == (1e-7, 1e-7)
    assert ok.tolerance("int64") == (0.0, 0.0)


@given(data=st.data())
@settings(max_examples=20, database=None, deadline=None)
def test_dims_kwargs_are_valid_or_invalid_as_declared(data):
    shape = data.draw(st.lists(st.integers(0, 3), max_size=3).map(tuple), label="shape")
    rule = dims(keepdim=True, multiple=True)
    ndim = max(len(shape), 1)
    valid = data.draw(rule.valid((shape,)), label="valid")
    dim = valid["dim"] if isinstance(valid["dim"], tuple) else (valid["dim"],)
    assert all(-ndim <= d < ndim for d in dim) and len({d % ndim for d in dim}) == len(dim)
    invalid = data.draw(rule.invalid((shape,)), label="invalid")["dim"]
    bad = invalid if isinstance(invalid, tuple) else (invalid,)
    assert any(not -ndim <= d < ndim for d in bad) or len({d % ndim for d in bad}) < len(bad)


def test_kwargs_forms_are_all_accepted():
    @settings(max_examples=2, database=None)
    @given(data=st.data())
    def draw(data):
        for kwargs in [{"alpha": st.just(2)}, st.just({"alpha": 2}), lambda shapes: st.just({"alpha": 2}),
                       Kwargs(lambda shapes: st.just({"alpha": 2}))]:
            spec = OpSpec("k", lambda t, x, **kw: x, kwargs=kwargs, shapes=Shapes(same_shapes(1)))
            assert draw_inputs(data, spec, "float64")[1] == {"alpha": 2}
        spec = OpSpec("s", lambda t, x, s: x * s, args=(tensor(), scalar(("int",))))
        inputs, _ = draw_inputs(data, spec, "float32")
        assert inputs[1]["kind"] == "scalar" and isinstance(inputs[1]["value"], int)
    draw()


@pytest.mark.parametrize("op", ["linalg.qr", "qr"])
@pytest.mark.parametrize("m, n", [(2, 2), (3, 2), (4, 4), (4, 1)])
@pytest.mark.parametrize("pattern", ["ones", "-ones", "checkerboard"])
def test_qr_spec_inputs_have_full_column_rank_at_the_entry_domain_corners(op, m, n, pattern):
    # seed 2401 drew x = -ones(2, 2), which n·I left singular ([[1, -1], [-1, 1]]): R22 = 0, and the gradient
    # (a solve with R) was inf or NaN by the last bit of a dot product. (n + 1)·I keeps |R_kk| >= 1. The torch.qr
    # spec (nn_extra) drew entries in [-3, 3] under n·I, where x = [[-1], [0]] is a zero column.
    import torch

    sign = {"ones": 1.0, "-ones": -1.0}.get(pattern)
    x = torch.full((m, n), sign, dtype=torch.float64) if sign else \
        (-1.0) ** (torch.arange(m)[:, None] + torch.arange(n)[None, :]).double()
    domain = get_spec(op).args[0].domain
    assert (domain.low, domain.high) == (-1.0, 1.0)  # the patterns are the domain's corners
    _, r = get_spec(op).fn(torch, x)
    assert r.diagonal().abs().min() >= 1.0


def test_pinverse_spec_zeroes_tiny_entries():
    # seed 2401: [[0, -1], [1.33e-10, 0]] (condition number 7.5e9) gave a gradient that was rounding noise of the
    # two SVDs; the spec makes entries below 1e-3 exact zeros (rank-deficient inputs stay, ill-conditioned ones go)
    import torch

    x = torch.tensor([[0.0, -1.0], [1.33e-10, 0.0]], dtype=torch.float64)
    assert torch.equal(get_spec("pinverse").fn(torch, x), torch.tensor([[0.0, 0.0], [-1.0, 0.0]], dtype=torch.float64))
