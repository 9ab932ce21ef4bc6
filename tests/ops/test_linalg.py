"""Linear algebra: VJPs (first and second order) against central differences at well-conditioned points, and
torch 2.13.0's conventions pinned as numbers — det at singular matrices, norms at 0 and at ties, matmul's
decomposition (grad_fn chains) — each observed on torch 2.13.0+cpu (float64, cotangent 1 unless stated).

No torch import: these run with torch absent.
"""
from __future__ import annotations

import numpy as np
import pytest

import refgrad
from tests.ops.numerical import check_vjp

L = refgrad.linalg
rng = np.random.default_rng(11)
A = rng.standard_normal((3, 3)) + 3 * np.eye(3)  # well conditioned
B = rng.standard_normal((3, 2))
V = rng.standard_normal(3)
W = rng.standard_normal(3)
T = rng.standard_normal((4, 3))  # tall
WIDE = rng.standard_normal((2, 4))
SPD = A @ A.T + 3 * np.eye(3)
BATCH = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
UPPER = np.triu(A)


def _sym_spectrum(x):
    """x + xᵀ with a spread-out spectrum: eigenvalues stay distinct under the finite-difference steps."""
    return x + x.transpose(-2, -1) + refgrad.tensor(np.diag([0.0, 6.0, 12.0]))


def _svd_invariant(x):
    U, S, Vh = L.svd(x, full_matrices=False)
    weights = refgrad.tensor(np.linspace(0.5, 1.5, S.shape[-1]))
    return S, (U * (S * weights).unsqueeze(-2)) @ Vh, U @ U.transpose(-2, -1)


def _eigh_invariant(x):
    values, vectors = L.eigh(_sym_spectrum(x))
    weights = refgrad.tensor(np.linspace(0.5, 1.5, values.shape[-1]))
    return values, (vectors * weights) @ vectors.transpose(-2, -1)


CASES = {
    "mm": (refgrad.mm, [A, B]), "mv": (refgrad.mv, [A, V]), "dot": (refgrad.dot, [V, W]),
    "vdot": (refgrad.vdot, [V, W]), "bmm": (refgrad.bmm, [BATCH, BATCH]),
    "matmul.1d_3d": (refgrad.matmul, [V, BATCH]), "matmul.3d_2d": (refgrad.matmul, [BATCH, B]),
    "matmul.broadcast": (refgrad.matmul, [rng.standard_normal((2, 1, 2, 3)), rng.standard_normal((4, 3, 2))]),
    "addmm": (lambda i, a, b: refgrad.addmm(i, a, b, beta=0.5, alpha=2.0), [rng.standard_normal(2), A, B]),
    "addmv": (lambda i, a, v: refgrad.addmv(i, a, v, alpha=3.0), [V, A, W]),
    "baddbmm": (lambda i, a, b: refgrad.baddbmm(i, a, b, beta=2.0), [BATCH, BATCH, BATCH]),
    "addbmm": (refgrad.addbmm, [A, BATCH, BATCH]),
    "outer": (refgrad.outer, [V, W]), "inner": (refgrad.inner, [A, B.T]),
    "tensordot": (lambda a, b: refgrad.tensordot(a, b, dims=([0], [1])), [T, WIDE]),
    "kron": (refgrad.kron, [A, B]),
    "einsum.matmul": (lambda a, b: refgrad.einsum("ij,jk->ik", a, b), [A, B]),
    "einsum.diagonal": (lambda a: refgrad.einsum("...ii->...i", a), [BATCH]),
    "einsum.three": (lambda a, b, c: refgrad.einsum("ab,bc,cd->ad", a, b, c), [A, B, WIDE]),
    "trace": (refgrad.trace, [A]), "cross": (L.cross, [T, T[::-1].copy()]),
    "vector_norm.2": (lambda x: L.vector_norm(x, 2, dim=1), [T]),
    "vector_norm.1": (lambda x: L.vector_norm(x, 1), [T]),
    "vector_norm.3": (lambda x: L.vector_norm(x, 3, dim=0, keepdim=True), [T]),
    "vector_norm.0_5": (lambda x: L.vector_norm(x, 0.5), [T]),
    "vector_norm.inf": (lambda x: L.vector_norm(x, float("inf"), dim=1), [T]),
    "vector_norm.-inf": (lambda x: L.vector_norm(x, -float("inf"), dim=1), [T]),
    "matrix_norm.fro": (lambda x: L.matrix_norm(x), [T]), "matrix_norm.nuc": (lambda x: L.matrix_norm(x, "nuc"), [T]),
    "matrix_norm.1": (lambda x: L.matrix_norm(x, 1), [T]), "matrix_norm.inf": (lambda x: L.matrix_norm(x, np.inf), [T]),
    "matrix_norm.2": (lambda x: L.matrix_norm(x, 2), [T]), "matrix_norm.-2": (lambda x: L.matrix_norm(x, -2), [T]),
    "inv": (L.inv, [BATCH]), "det": (L.det, [BATCH]), "slogdet": (lambda x: L.slogdet(x).logabsdet, [A]),
    "logdet": (refgrad.logdet, [SPD]),
    "solve": (L.solve, [A, B]), "solve.vector": (L.solve, [A, V]),
    "solve.right": (lambda a, b: L.solve(a, b, left=False), [A, B.T.copy()]),
    "cholesky": (lambda x: L.cholesky(x @ x.transpose(-2, -1) + 3 * refgrad.eye(3, dtype=refgrad.float64)), [A]),
    "cholesky.upper": (lambda x: L.cholesky(x @ x.transpose(-2, -1) + 3 * refgrad.eye(3, dtype=refgrad.float64),
                                            upper=True), [A]),
    "qr": (lambda x: tuple(L.qr(x)), [T]),
    "eigh": (_eigh_invariant, [A]), "eigvalsh": (lambda x: L.eigvalsh(_sym_spectrum(x)), [A]),
    "svd.tall": (_svd_invariant, [T]), "svd.wide": (_svd_invariant, [WIDE]), "svdvals": (L.svdvals, [T]),
    "pinv": (L.pinv, [T]),
    "cholesky_solve": (lambda b, low: refgrad.cholesky_solve(b, low), [B, np.linalg.cholesky(SPD)]),
    "matrix_power.5": (lambda x: L.matrix_power(x, 5), [A / 3]),
    "matrix_power.-2": (lambda x: L.matrix_power(x, -2), [A]),
    "solve_triangular": (lambda a, b: L.solve_triangular(a, b, upper=True), [UPPER, B]),
    "solve_triangular.unit_right": (lambda a, b: L.solve_triangular(a, b, upper=False, left=False,
                                                                    unitriangular=True), [A, B.T.copy()]),
    "triangular_solve": (lambda b, a: tuple(refgrad.triangular_solve(b, a, transpose=True)), [B, UPPER]),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("order", [1, 2])
def test_vjp_matches_central_differences(name, order):
    fn, arrays = CASES[name]
    check_vjp(fn, *arrays, order=order, rtol=1e-4, atol=1e-5)


def _grad(fn, array):
    x = refgrad.tensor(array, dtype=refgrad.float64, requires_grad=True)
    out = fn(x)
    out.sum().backward()
    return out, x.grad


@pytest.mark.parametrize(("matrix", "value", "grad"), [
    # torch 2.13: det of a singular n x n matrix of rank n-1 has an all-zero gradient (the true one is adj(A)ᵀ,
    # e.g. [[4, -2], [-2, 1]] for [[1, 2], [2, 4]]); a 1x1 zero matrix gets 1 (fixed by PR #171225)
    ([[1.0, 2.0], [2.0, 4.0]], 0.0, [[0.0, 0.0], [0.0, 0.0]]),
    ([[1.0, 0.0], [0.0, 0.0]], 0.0, [[0.0, 0.0], [0.0, 0.0]]),
    ([[0.0, 0.0], [0.0, 0.0]], 0.0, [[0.0, 0.0], [0.0, 0.0]]),
    ([[0.0]], 0.0, [[1.0]]),
    ([[2.0, 1.0], [1.0, 3.0]], 5.0, [[3.0, -1.0], [-1.0, 2.0]]),
])
def test_det_gradient_at_singular_matrices(matrix, value, grad):
    out, gradient = _grad(L.det, np.array(matrix))
    assert abs(out.item() - value) < 1e-12
    np.testing.assert_allclose(gradient.numpy(), grad, atol=1e-12)


@pytest.mark.parametrize(("ord_", "grad"), [
    # torch 2.13 on [0, 1, -2, 2]: the gradient at the zero entry is 0 for every order; inf splits ties with sign
    (1, [0.0, 1.0, -1.0, 1.0]),
    (2, [0.0, 1 / 3, -2 / 3, 2 / 3]),
    (float("inf"), [0.0, 0.0, -0.5, 0.5]),
    (-float("inf"), [0.0, 0.0, 0.0, 0.0]),
    (3, [0.0, 17 ** (-2 / 3), -4 * 17 ** (-2 / 3), 4 * 17 ** (-2 / 3)]),  # printed 0.1513, -0.6050
    (0.5, [0.0, 3.82842712, -2.70710678, 2.70710678]),
    (-1, [0.0, 0.0, 0.0, 0.0]),
])
def test_vector_norm_at_zero_entries(ord_, grad):
    _, gradient = _grad(lambda x: L.vector_norm(x, ord_), np.array([0.0, 1.0, -2.0, 2.0]))
    np.testing.assert_allclose(gradient.numpy(), grad, atol=1e-7)


@pytest.mark.parametrize("ord_", [1, 2, 3, 0.5, float("inf"), -1])
def test_vector_norm_of_zero_vector_has_zero_gradient(ord_):
    # torch 2.13: vector_norm(zeros(2), ord).backward() -> grad [0., 0.] (subgradient 0, PR #2775)
    _, gradient = _grad(lambda x: L.vector_norm(x, ord_), np.zeros(2))
    assert gradient.tolist() == [0.0, 0.0]


def test_vector_norm_order_zero_has_no_gradient():
    # torch 2.13: vector_norm(x, 0).sum().backward() leaves x.grad None (the node returns an undefined gradient)
    _, gradient = _grad(lambda x: L.vector_norm(x, 0), np.array([0.0, 1.0, -2.0]))
    assert gradient is None


def test_matrix_norm_ties_split_evenly():
    # torch 2.13: matrix_norm([[1, -1], [1, 1]], 1) -> 2, grad [[.5, -.5], [.5, .5]] (amax ties split);
    # matrix_norm(eye(2), 2) -> grad [[.5, 0], [0, .5]]; matrix_norm([[1, 0], [0, 0]], 'nuc') -> grad eye(2)
    _, gradient = _grad(lambda x: L.matrix_norm(x, 1), np.array([[1.0, -1.0], [1.0, 1.0]]))
    assert gradient.tolist() == [[0.5, -0.5], [0.5, 0.5]]
    _, gradient = _grad(lambda x: L.matrix_norm(x, 2), np.eye(2))
    np.testing.assert_allclose(gradient.numpy(), [[0.5, 0.0], [0.0, 0.5]], atol=1e-12)
    _, gradient = _grad(lambda x: L.matrix_norm(x, "nuc"), np.array([[1.0, 0.0], [0.0, 0.0]]))
    np.testing.assert_allclose(gradient.numpy(), np.eye(2), atol=1e-12)


def _chain(tensor, depth=6):
    names, node = [], tensor.grad_fn
    while node is not None and depth:
        names.append(type(node).__name__)
        following = [n for n, _ in node.next_functions if n is not None and type(n).__name__ != "AccumulateGrad"]
        node, depth = (following[0] if following else None), depth - 1
    return names


@pytest.mark.parametrize(("shapes", "flags", "chain"), [
    # torch 2.13, type names walking grad_fn.next_functions (first non-leaf edge each step)
    (((3,), (3,)), (True, True), ["DotBackward0"]),
    (((2, 3), (3,)), (True, True), ["MvBackward0"]),
    (((3,), (3, 2)), (True, True), ["SqueezeBackward4", "MmBackward0", "UnsqueezeBackward0"]),
    (((5, 2, 3), (3,)), (True, True), ["UnsafeViewBackward0", "MvBackward0", "ViewBackward0"]),
    (((5, 2, 3), (3, 4)), (False, True), ["UnsafeViewBackward0", "MmBackward0"]),
    (((3,), (5, 3, 2)), (True, True),
     ["UnsafeViewBackward0", "MvBackward0", "UnsafeViewBackward0", "CloneBackward0", "TransposeBackward0"]),
    (((3,), (5, 3, 2)), (False, True), ["UnsafeViewBackward0", "BmmBackward0", "ViewBackward0", "ExpandBackward0"]),
    (((2, 3), (5, 3, 4)), (True, False), ["CloneBackward0", "TransposeBackward0", "UnsafeViewBackward0",
                                          "MmBackward0", "TBackward0"]),
    (((5, 2, 3), (1, 3, 4)), (False, True), ["UnsafeViewBackward0", "MmBackward0", "SqueezeBackward1"]),
    (((5, 2, 3), (1, 3, 4)), (True, False), ["UnsafeViewBackward0", "BmmBackward0", "ViewBackward0",
                                             "ExpandBackward0"]),
    (((2, 1, 2, 3), (5, 3, 4)), (True, True), ["UnsafeViewBackward0", "BmmBackward0", "UnsafeViewBackward0",
                                               "CloneBackward0", "ExpandBackward0"]),
    (((5, 2, 3), (1, 1, 3, 4)), (False, True), ["UnsafeViewBackward0", "BmmBackward0", "ReshapeAliasBackward0",
                                                "ExpandBackward0"]),
])
def test_matmul_decomposes_like_torch(shapes, flags, chain):
    a, b = (refgrad.tensor(rng.standard_normal(s), requires_grad=f) for s, f in zip(shapes, flags))
    assert _chain(a @ b) == chain


@pytest.mark.parametrize(("expression", "name"), [
    # torch 2.13 type(out.grad_fn).__name__
    (lambda a: refgrad.einsum("ij,jk->ik", a, a), "ViewBackward0"), (lambda a: refgrad.einsum("ii->i", a),
                                                                      "PermuteBackward0"),
    (lambda a: refgrad.einsum("ii", a), "SumBackward1"), (lambda a: refgrad.outer(a[0], a[1]), "MulBackward0"),
    (lambda a: refgrad.inner(a[0], a[1]), "ViewBackward0"), (lambda a: refgrad.kron(a, a), "UnsafeViewBackward0"),
    (lambda a: L.inv(a), "LinalgInvExBackward0"), (lambda a: refgrad.inverse(a), "LinalgInvExBackward0"),
    (lambda a: refgrad.det(a), "LinalgDetBackward0"), (lambda a: L.slogdet(a).sign, "LinalgSlogdetBackward0"),
    (lambda a: L.solve(a, a[0]), "LinalgSolveExBackward0"), (lambda a: L.qr(a).Q, "LinalgQrBackward0"),
    (lambda a: L.svdvals(a), "LinalgSvdBackward0"), (lambda a: L.matrix_norm(a, "nuc"), "SumBackward1"),
    (lambda a: L.matrix_norm(a, 1), "AmaxBackward0"), (lambda a: L.matrix_norm(a, -2), "AminBackward0"),
    (lambda a: L.matrix_norm(a, 2, keepdim=True), "PermuteBackward0"),
    (lambda a: L.norm(a), "LinalgVectorNormBackward0"), (lambda a: refgrad.trace(a), "TraceBackward0"),
    (lambda a: L.matrix_power(a, 0), "CopyBackwards"), (lambda a: L.matrix_power(a, 1), "CloneBackward0"),
    (lambda a: L.matrix_power(a, -1), "LinalgInvExBackward0"), (lambda a: L.matrix_power(a, 5), "MmBackward0"),
    (lambda a: L.cross(a, a), "LinalgCrossBackward0"), (lambda a: L.pinv(a), "LinalgPinvBackward0"),
    (lambda a: L.solve_triangular(a, a, upper=True), "LinalgSolveTriangularBackward0"),
    (lambda a: refgrad.triangular_solve(a, a).cloned_coefficient, "TriangularSolveBackward0"),
    (lambda a: refgrad.addmm(a, a, a), "AddmmBackward0"), (lambda a: refgrad.vdot(a[0], a[1]), "VdotBackward0"),
])
def test_grad_fn_names(expression, name):
    assert type(expression(refgrad.tensor(A, requires_grad=True)).grad_fn).__name__ == name


def test_singular_inputs_raise_linalg_errors():
    # torch 2.13: linalg.inv(ones(2, 2)) and linalg.cholesky(-eye(2)) raise torch.linalg.LinAlgError (a RuntimeError)
    with pytest.raises(L.LinAlgError):
        L.inv(refgrad.ones(2, 2, dtype=refgrad.float64))
    with pytest.raises(RuntimeError, match="positive-definite"):
        L.cholesky(-refgrad.eye(2, dtype=refgrad.float64))


# --- divergence fixes (shrunk examples of the conformance ci run), values observed on torch 2.13.0+cpu -----------


def _t(values, requires_grad=True):
    return refgrad.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_addmv_empty_matrix_keeps_input_shape():
    out = refgrad.addmv(_t(2.0), _t(np.zeros((0, 0))), _t(np.zeros(0)), beta=3.0)
    assert out.shape == () and out.item() == 6.0
    assert refgrad.addmv(_t(2.0), _t(np.zeros((0, 3))), _t(np.ones(3)), beta=0).shape == (0,)
    assert refgrad.addmv(_t([2.0]), _t(np.zeros((0, 3))), _t(np.ones(3))).shape == (1,)
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 0-D"):
        out.backward()


def test_einsum_contracts_left_to_right_as_torch():
    # torch 2.13: 'ab,bc,cd->ad' is (AB)C, so AB overflowing float32 meets C = 0 as inf * 0 = NaN (the term-by-term
    # product A·B·C was 3e38 * 1 * 0 = 0); C = 2 gives inf
    a, b = refgrad.tensor([[3e38, 3e38]]), refgrad.tensor([[1.0], [1.0]])
    assert np.isnan(refgrad.einsum("ab,bc,cd->ad", a, b, refgrad.tensor([[0.0]])).item())
    assert refgrad.einsum("ab,bc,cd->ad", a, b, refgrad.tensor([[2.0]])).item() == np.inf


def test_einsum_contraction_gives_a_missing_tangent_zeros():
    # torch 2.13 contracts with bmm, whose forward formula materializes a missing tangent: 0 * inf = NaN; an einsum
    # without contraction multiplies, and a missing tangent adds nothing there
    fwd = refgrad.autograd.forward_ad
    with fwd.dual_level():
        x = fwd.make_dual(_t([np.inf, 1.0], requires_grad=False), _t([1.0, 1.0], requires_grad=False))
        a = _t([1.0, 2.0], requires_grad=False)
        assert np.isnan(fwd.unpack_dual(refgrad.einsum("i,i->", a, x)).tangent.item())
        assert fwd.unpack_dual(refgrad.einsum("i,j->ij", a, x)).tangent.tolist() == [[1.0, 1.0], [2.0, 2.0]]
        assert fwd.unpack_dual(refgrad.einsum("i,i->", a, x.detach() + 1)).tangent is None


def test_addmv_empty_matrix_refuses_a_tangent_of_another_shape():
    # torch 2.13: the tangent's formula has mat @ vec's shape, which the shortcut's output (input's shape) lacks
    fwd = refgrad.autograd.forward_ad
    with fwd.dual_level():
        dual = fwd.make_dual(_t(np.ones(3), requires_grad=False), _t(np.ones(3), requires_grad=False))
        with pytest.raises(RuntimeError, match=r"size \[\] while the given forward gradient is of size \[0\]\.$"):
            refgrad.addmv(_t(2.0), _t(np.zeros((0, 3))), dual)
        with pytest.raises(RuntimeError, match=r"size \[1\] while the given forward gradient is of size \[2\]\.$"):
            refgrad.addmv(fwd.make_dual(_t([2.0]), _t([1.0])), _t(np.zeros((2, 0))), _t(np.zeros(0)))
        out = refgrad.addmv(_t(np.ones(0)), _t(np.zeros((0, 3))), dual)  # same shapes: a (0,) tangent
        assert fwd.unpack_dual(out).tangent.shape == (0,)
        assert fwd.unpack_dual(refgrad.addmv(_t(2.0), _t(np.zeros((0, 3))), dual, beta=0)).tangent.shape == (0,)


def test_inner_and_kron_do_not_save_views_of_their_inputs():
    # inner of size-1 vectors sums the first operand first; kron works on _unsafe_views: in-place changes are fine
    a, b = _t([0.0]).clone(), _t([0.0]).clone()
    out = refgrad.inner(a, b)
    a.add_(1)
    out.backward()
    a, b = _t(0.0).clone(), _t(np.zeros(0)).clone()
    out = refgrad.kron(a, b)
    a.add_(1)
    out.backward(refgrad.zeros(0, dtype=refgrad.float64))
    assert out.grad_fn.name() == "UnsafeViewBackward0"


def test_kron_of_transposed_inputs_raises_torchs_view_error():
    # torch 2.13: kron _unsafe_view's the product of its interleaved inputs to the result's shape, and the product
    # laid out after a transposed operand's strides can't be viewed so: kron(ones(2), ones(2, 2).t()) raises;
    # two transposed matrices (the product transposed as a whole) or a sliced one don't
    message = "view size is not compatible with input tensor's size and stride"
    with pytest.raises(RuntimeError, match=message):
        refgrad.kron(_t([1.0, 2.0]), _t(A[:2, :2]).t())
    with pytest.raises(RuntimeError, match=message):
        refgrad.kron(_t(A[:2, :3]).t(), _t(V))
    out = refgrad.kron(_t(A[:2, :2]).t(), _t(B[:2]).t())
    np.testing.assert_allclose(out.detach().numpy(), np.kron(A[:2, :2].T, B[:2].T))
    out = refgrad.kron(_t(A[:2, :2]), _t(T[:2])[:, ::2])
    np.testing.assert_allclose(out.detach().numpy(), np.kron(A[:2, :2], T[:2, ::2]))


@pytest.mark.parametrize("first", [(2, 1), (1, 2), (2, 3), (3,), (2, 2)])
@pytest.mark.parametrize("second", [(2, 1), (2, 3), (2, 2)])
def test_kron_layouts_and_view_errors_as_torch(first, second):
    """kron on contiguous, transposed and sliced operands (including size-1 dimensions, whose strides decide the
    product's order in torch: kron(transposed (2, 1), (2, 1)) raises there) against torch 2.13: same error or same
    values and strides (of the dimensions of size > 1). At the session's start 68 of these 225 cases differed."""
    torch = pytest.importorskip("torch")

    def make(t, shape, layout):
        values = np.arange(1.0, 1 + int(np.prod(shape))).reshape(shape)
        if layout == "transposed" and len(shape) == 2:
            return t.tensor(values.T.tolist(), dtype=t.float64).t()
        if layout == "sliced":
            buffer = np.zeros(shape[:-1] + (2 * shape[-1],))
            buffer[..., ::2] = values
            return t.tensor(buffer.tolist(), dtype=t.float64)[..., ::2]
        return t.tensor(values.tolist(), dtype=t.float64)

    def outcome(t, la, lb):
        try:
            out = t.kron(make(t, first, la), make(t, second, lb))
        except RuntimeError as error:
            return str(error)
        return out.tolist(), [s for n, s in zip(out.shape, out.stride()) if n > 1]
    for la in ("contiguous", "transposed", "sliced"):
        for lb in ("contiguous", "transposed", "sliced"):
            assert outcome(refgrad, la, lb) == outcome(torch, la, lb), (la, lb)


def test_tensordot_broadcasts_size_one_contracted_dims():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 1))
    out = refgrad.tensordot(refgrad.tensor(a), refgrad.tensor(b), ([1], [1]))
    np.testing.assert_allclose(out.numpy(), a.sum(1, keepdims=True) @ b.T)


@pytest.mark.parametrize("fn, shape", [(lambda x: L.vector_norm(x, ord=1), ()),
                                       (lambda x: L.matrix_norm(x, ord=1), (1, 1)),
                                       (lambda x: L.norm(x, ord=1), (1,))])
def test_norm_double_backward_at_zero_is_zero_not_none(fn, shape):
    x = _t(np.zeros(shape))
    out = fn(x)
    v = refgrad.zeros_like(out).requires_grad_()
    (g,) = refgrad.autograd.grad(out, x, v, create_graph=True)
    gx, gv = refgrad.autograd.grad(g, [x, v], refgrad.zeros_like(g), allow_unused=True)
    # torch 2.13: sgn's ZeroTensor (refgrad/autograd/zerotensor.py), which numpy() converts only with force=True
    assert gx is not None and gx._is_zerotensor() and not gx.numpy(force=True).any()


def test_vector_norm_of_one_subnormal_element_is_its_magnitude():
    x = _t(9.789846524626559e-167)
    out = L.vector_norm(x, ord=2)
    assert out.item() == 9.789846524626559e-167
    out.backward()
    assert x.grad.item() == 1.0


def test_det_double_backward_follows_torch():
    # 1x1: the gradient is the cotangent itself, no graph to A
    x = _t([[0.0]])
    v = _t(1.0)
    (g,) = refgrad.autograd.grad(L.det(x + 2 * refgrad.eye(1, dtype=refgrad.float64)), x, v, create_graph=True)
    assert refgrad.autograd.grad(g, [x, v], refgrad.ones_like(g), allow_unused=True)[0] is None
    # singular under create_graph: SVD cofactors (the adjugate), NaN second derivative at a double zero
    x = _t([[1.0, 2.0], [2.0, 4.0]])
    (g,) = refgrad.autograd.grad(L.det(x), x, _t(1.0), create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    x = _t(np.zeros((2, 2)))
    v = _t(0.0)
    (g,) = refgrad.autograd.grad(L.det(x), x, v, create_graph=True)
    assert np.isnan(refgrad.autograd.grad(g, x, refgrad.zeros_like(g))[0].numpy()).all()
    # without grad mode: zeros at an exactly singular matrix, never a LinAlgError
    x = _t([[-1.0, -0.5, -1.0, -1.0], [-1.0, 0.0, -1.0, -1.0], [1.0, -1.0, 0.0, -1.0], [-1.0, -1.0, -1.0, -1.0]])
    L.det(x).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_explicit_zero_cotangents_are_used():
    # svd of a zero matrix with explicit zero cotangents for U and Vh: torch's formula divides by S = 0 -> NaN
    x = _t(np.zeros((1, 2)))
    U, S, Vh = L.svd(x, full_matrices=False)
    refgrad.autograd.backward([S, U, Vh], [refgrad.zeros_like(S), refgrad.zeros_like(U), refgrad.zeros_like(Vh)])
    assert np.isnan(x.grad.numpy()).all()
    # slogdet: only the sign reached -> no gradient at all
    x = _t([[0.0]])
    sign, _ = L.slogdet(x + 2 * refgrad.eye(1, dtype=refgrad.float64))
    sign.backward()
    assert x.grad is None


def test_solve_and_triangular_solve_save_what_torch_saves():
    b = _t([0.0]).clone()
    out = L.solve(refgrad.eye(1, dtype=refgrad.float64) * 2, b)
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(refgrad.zeros(1, dtype=refgrad.float64))
    b, a = _t([[0.0]]).clone(), _t([[2.0]]).clone()
    out = refgrad.triangular_solve(b, a, upper=False).solution
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(refgrad.zeros((1, 1), dtype=refgrad.float64))


def test_svdvals_gradient_at_negative_zero_is_plus_one():
    x = _t([[-0.0]])
    L.svdvals(x).sum().backward()
    assert x.grad.item() == 1.0


def test_slogdet_saves_its_sign_output():
    x = _t([[2.0]])
    sign, logabsdet = L.slogdet(x)
    sign.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        logabsdet.backward()


@pytest.mark.parametrize(("equation", "shape", "strides"), [
    # torch 2.13: a single-operand einsum without summation returns a view of its operand; repeated subscripts
    # take a diagonal view (strides in elements: (4,) for the diagonal of a 3x3, (9, 4) for (2, 3, 3))
    ("ii->i", (3, 3), (4,)), ("...ii->...i", (2, 3, 3), (9, 4)), ("jii->ij", (3, 2, 2), (3, 4)),
    ("ij->ji", (2, 3), (1, 3)),
])
def test_einsum_without_summation_is_a_view_of_its_operand(equation, shape, strides):
    x = _t(np.arange(float(np.prod(shape))).reshape(shape))
    out = refgrad.einsum(equation, x)
    assert out._is_view() and out._base is x and out.stride() == strides
    np.testing.assert_array_equal(out.detach().numpy(), np.einsum(equation, x.detach().numpy()))
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place"):
        out.mul_(2)


def test_bmm_and_matmul_accept_mixed_dtypes_only_when_nothing_is_multiplied():
    # torch 2.13: bmm skips its dtype check for an empty result or k = 0 (zeros) and returns batch2's dtype:
    # matmul(ones(3, 0, float32), ones(2, 0, 3, float64)) -> zeros (2, 3, 3) float64, and the reverse float32;
    # gradients come back in each input's own dtype. With something to multiply it raises.
    x = refgrad.ones(3, 0, dtype=refgrad.float32)
    y = refgrad.ones(2, 0, 3, dtype=refgrad.float64, requires_grad=True)
    out = refgrad.matmul(x, y)
    assert out.dtype is refgrad.float64 and out.shape == (2, 3, 3) and not out.detach().numpy().any()
    out.backward(refgrad.ones(2, 3, 3, dtype=refgrad.float64))
    assert y.grad.dtype is refgrad.float64 and y.grad.shape == (2, 0, 3)
    assert refgrad.bmm(refgrad.ones(2, 0, 3, dtype=refgrad.float64),
                       refgrad.ones(2, 3, 2, dtype=refgrad.float32)).dtype is refgrad.float32
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        refgrad.bmm(refgrad.ones(2, 2, 3), refgrad.ones(2, 3, 2, dtype=refgrad.float64))
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != double"):
        refgrad.matmul(refgrad.ones(3, 0), refgrad.ones(0, 3, dtype=refgrad.float64))  # mm: always checked


def test_solve_triangular_saves_its_result_when_only_b_requires_grad():
    # torch 2.13: linalg.solve_triangular(2·I, B, upper=False, left=False) with only B requiring grad, output
    # multiplied in place -> backward raises "modified by an inplace operation" (the result is saved for either
    # input); modifying B in place is fine (B is not saved)
    for modify in ("out", "B"):
        b = _t([[1.0]]).clone()
        out = L.solve_triangular(refgrad.eye(1, dtype=refgrad.float64) * 2, b, upper=False, left=False)
        (out if modify == "out" else b).mul_(2)
        if modify == "out":
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                out.backward(refgrad.ones(1, 1, dtype=refgrad.float64))
        else:
            out.backward(refgrad.ones(1, 1, dtype=refgrad.float64))


@pytest.mark.parametrize(("matrix", "rhs", "upper", "left", "expected"), [
    # torch 2.13 (trsm, no singularity check): zero pivots give IEEE infinities and NaNs, never an error
    ([[0.0, 0.0], [0.0, 0.0]], [[1.0], [1.0]], True, True, [[np.nan], [np.inf]]),
    ([[0.0, 2.0], [0.0, 1.0]], [[1.0], [1.0]], True, True, [[-np.inf], [1.0]]),
    ([[1.0, 2.0], [0.0, 0.0]], [[1.0], [0.0]], True, True, [[np.nan], [np.nan]]),
    ([[1.0, 0.0], [3.0, 0.0]], [[1.0], [1.0]], False, True, [[1.0], [-np.inf]]),
    ([[1.0, 0.0], [3.0, 0.0]], [[1.0, 1.0]], False, False, [[-np.inf, np.inf]]),
])
def test_solve_triangular_of_a_singular_matrix_gives_infs_and_nans(matrix, rhs, upper, left, expected):
    out = L.solve_triangular(_t(matrix, False), _t(rhs, False), upper=upper, left=left)
    np.testing.assert_array_equal(out.numpy(), expected)


def test_qr_gradient_at_a_singular_r_is_nan():
    # torch 2.13: linalg.qr([[0.]]) -> Q [[1.]], R [[0.]]; its backward solves with R: grad [[nan]] for any
    # cotangents (zero ones included), no error
    x = _t([[0.0]])
    Q, R = L.qr(x)
    refgrad.autograd.backward([Q, R], [refgrad.zeros_like(Q), refgrad.zeros_like(R)])
    assert np.isnan(x.grad.item())


def test_torch_norm_of_one_element_is_its_magnitude_but_not_for_a_0d_input_with_a_dim():
    # torch 2.13: torch.norm(tensor(3.3641631218745875e-165), 2) -> the value itself, backward -> grad 1 (x·x would
    # underflow to 0); linalg.vector_norm(tensor(1e-170), 2, dim=0) -> 0.0: a 0-d input given a dim is reduced by
    # the general formula
    x = _t(3.3641631218745875e-165)
    out = refgrad.norm(x, p=2)
    assert out.item() == 3.3641631218745875e-165
    out.backward()
    assert x.grad.item() == 1.0
    assert L.vector_norm(_t(1e-170), 2, dim=0).item() == 0.0
    assert L.vector_norm(_t(1e-170), 2).item() == 1e-170
    assert L.vector_norm(_t([[1e-170, 0.0]]), 2, dim=0).tolist() == [1e-170, 0.0]


@pytest.mark.parametrize(("ord_", "grad_x", "grad_v"), [
    (3, 0.0, np.nan), (1.5, np.nan, np.nan), (2, np.nan, 0.0), (0.5, np.nan, 0.0), (-1, np.nan, 0.0),
    (1, 0.0, 0.0), (float("inf"), 0.0, 0.0),
])
def test_vector_norm_second_derivatives_at_a_zero_norm(ord_, grad_x, grad_v):
    # torch 2.13, x = zeros(2), cotangent v = 0, second cotangent ones: the first-order gradient is 0, and the masks
    # of its formula (g / norm^(p-1), x / norm, masked to 0 where norm == 0) send 0 / 0 = NaN into the second order
    x = _t([0.0, 0.0])
    v = _t(0.0)
    (g,) = refgrad.autograd.grad(L.vector_norm(x, ord_), x, v, create_graph=True)
    assert g.tolist() == [0.0, 0.0]
    gx, gv = refgrad.autograd.grad(g, [x, v], refgrad.ones_like(g))
    np.testing.assert_array_equal(gx.numpy(force=True), [grad_x, grad_x])  # (1, inf: sgn's ZeroTensor)
    np.testing.assert_array_equal(gv.item(), grad_v)


def test_vector_norm_without_identity_rejects_only_empty_reduced_dims():
    # torch 2.13: vector_norm(zeros(0, 3), -1, dim=1) -> tensor([]); dim=0 or no dim -> RuntimeError
    assert L.vector_norm(refgrad.zeros(0, 3), -1, dim=1).shape == (0,)
    assert refgrad.norm(refgrad.zeros(0, 3), float("inf"), dim=1).shape == (0,)
    with pytest.raises(RuntimeError, match="cannot compute the -1 norm on the dimension 0"):
        L.vector_norm(refgrad.zeros(0, 3), -1, dim=0)
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        refgrad.norm(refgrad.zeros(0, 3), float("inf"))


@pytest.mark.parametrize(("matrix", "dtype"), [
    ([[1e-15, 0.0], [0.0, 1.0]], refgrad.float64), ([[1.4720752709408792e-111, 0.0], [0.0, 1.0]], refgrad.float64),
    ([[0.8046875, 0.8046875], [0.8046875, 0.8046875]], refgrad.float32),
])
def test_det_second_derivative_near_singular_uses_the_cofactors(matrix, dtype):
    # the gradient of a 2x2 det is the cofactor matrix [[d, -c], [-b, a]], linear in A: its derivative along
    # ones(2, 2) is exactly [[1, -1], [-1, 1]]. torch 2.13 under create_graph switches to the SVD cofactors where
    # |det| < 100·eps and gets it; det·A^-T there cancels catastrophically (1.125 / 0 at entry [0, 0] before)
    x = refgrad.tensor(matrix, dtype=dtype, requires_grad=True)
    (g,) = refgrad.autograd.grad(L.det(x), x, refgrad.ones((), dtype=dtype), create_graph=True)
    (gg,) = refgrad.autograd.grad(g, x, refgrad.ones(2, 2, dtype=dtype))
    np.testing.assert_allclose(gg.numpy(), [[1.0, -1.0], [-1.0, 1.0]], atol=1e-6 if dtype is refgrad.float32 else 1e-12)


def test_float32_vector_norm_adds_its_powers_in_float64():
    # 64 · sqrt(0.5) rounded once: 45.254833 (float32), squared 2047.9999 (float32 pairwise summation gave
    # 2047.9996, torch 2.13 gives 2048.0024, the exact norm is 2048); the powers overflow in float32 as in torch
    x = refgrad.full((4, 4, 4), 0.5, dtype=refgrad.float32)
    assert L.vector_norm(x, 0.5).item() == 2047.9998779296875
    assert L.vector_norm(refgrad.full((5,), 1e20, dtype=refgrad.float32), 2).item() == float("inf")
