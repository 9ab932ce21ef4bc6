"""mm's gradients picked by its operands' strides, as torch 2.13's mm_mat1_backward / mm_mat2_backward pick them:
a column-major matrix operand (strides (1, size(0)): a transposed one, or any [1, 1]) gets its gradient as the
transposed product, (mat2 @ g.t()).t() or (g.t() @ mat1).t(), so that under create_graph the gradient's node is
TBackward0 over MmBackward0, and in both modes its values are laid out column-major as the operand was. addmm,
matmul and linear (whose transposed weight is column-major) go through the same choice. Each case is compared
with live torch: the names of the create_graph gradients' graphs and the strides of the gradients."""
import numpy as np
import pytest

import refgrad

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _c(*shape):
    return lambda t: t.tensor(RNG.standard_normal(shape))


def _f(m, n):  # a column-major [m, n]: the transpose of a contiguous [n, m]
    data = RNG.standard_normal((n, m))
    return lambda t: t.tensor(data).t()


def _sliced(m, n):
    data = RNG.standard_normal((m, 2 * n))
    return lambda t: t.tensor(data)[:, ::2]


def _expanded(m, n):
    data = RNG.standard_normal((1, n))
    return lambda t: t.tensor(data).expand(m, n)


def _empty(m, n, transposed=False):
    return lambda t: t.zeros(n, m, dtype=t.float64).t() if transposed else t.zeros(m, n, dtype=t.float64)


OPERANDS = {  # (first, second) of a product, built on either module
    "contiguous": (_c(2, 3), _c(3, 4)),
    "transposed": (_f(2, 3), _f(3, 4)),
    "first transposed": (_f(2, 3), _c(3, 4)),
    "one element": (_c(1, 1), _c(1, 1)),
    "sliced": (_sliced(2, 3), _sliced(3, 4)),
    "expanded": (_expanded(2, 3), _expanded(3, 4)),
    "column and row": (_f(2, 1), _f(1, 3)),
    "contiguous column and row": (_c(3, 1), _c(1, 3)),
    "empty": (_empty(1, 0), _empty(0, 2)),
    "empty transposed": (_empty(2, 0, True), _empty(0, 3, True)),
}

OPS = {
    "mm": lambda t, a, b: a.mm(b),
    "matmul": lambda t, a, b: a @ b,
    "addmm": lambda t, a, b: t.addmm(t.zeros(a.shape[0], b.shape[1], dtype=a.dtype), a, b),
    "addmm alpha": lambda t, a, b: t.addmm(t.zeros(a.shape[0], b.shape[1], dtype=a.dtype), a, b, alpha=2.0),
    "linear": lambda t, a, b: t.nn.functional.linear(a, b.t()),
    "linear bias": lambda t, a, b: t.nn.functional.linear(a, b.t(), t.zeros(b.shape[1], dtype=a.dtype)),
    "batched matmul": lambda t, a, b: a.expand(2, *a.shape).contiguous() @ b,
    "complex": lambda t, a, b: a.to(t.complex128).mm(b.to(t.complex128)),
}


def _names(fn):
    if fn is None:
        return None
    name = type(fn).__name__.replace("torch::autograd::", "")
    return name if name == "AccumulateGrad" else (name, [_names(f) for f, _ in fn.next_functions])


def _layout(x):  # strides where torch defines them (not for size-1 dimensions or an empty tensor: see
    # conformance.programs.layout)
    if x.numel() == 0:
        return "empty"
    return tuple(None if n == 1 else s for n, s in zip(x.shape, x.stride())), x.is_contiguous()


def _observe(t, op, case):
    a, b = (make(t).detach().requires_grad_() for make in OPERANDS[case])
    out = OPS[op](t, a, b)
    g = t.ones_like(out).requires_grad_()
    graphs = t.autograd.grad(out, (a, b), g, create_graph=True)
    plain = t.autograd.grad(out, (a, b), t.ones_like(out))
    return [_names(x.grad_fn) for x in graphs], [_layout(x) for x in graphs], [_layout(x) for x in plain]


@pytest.mark.parametrize("case", OPERANDS)
@pytest.mark.parametrize("op", OPS)
def test_gradient_nodes_and_layouts_follow_the_operands_strides(op, case):
    if op == "complex" and case != "transposed":
        pytest.skip("complex: the transposed case only (torch's general formula conjugates mat2.t(), "
                    "ConjBackward0 over TBackward0, where refgrad's has TBackward0 over ConjBackward0)")
    torch_graphs, torch_strides, torch_plain = _observe(torch, op, case)
    graphs, strides, plain = _observe(refgrad, op, case)
    assert graphs == torch_graphs
    assert strides == torch_strides and plain == torch_plain


@pytest.mark.parametrize("op", ["mm", "addmm alpha", "linear bias"])
def test_the_transposed_products_values_are_torchs(op):
    cotangent = RNG.standard_normal((2, 4))
    grads = []
    for t in (torch, refgrad):
        a, b = (make(t).detach().requires_grad_() for make in OPERANDS["transposed"])
        out = OPS[op](t, a, b)
        grads.append([x.detach().numpy() for x in t.autograd.grad(out, (a, b), t.tensor(cotangent))])
    for expected, got in zip(*grads):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
