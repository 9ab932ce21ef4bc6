"""Elementwise results laid out as torch's TensorIterator lays them out: dense, with the dimensions ordered in
memory like the operands', the first operand deciding each pair of dimensions it tells apart (refgrad/ops/_layout.py).
NumPy falls back to C order when operands conflict, so ``x.mT + y`` (a transposed first operand) was C-contiguous
in refgrad and Fortran-ordered in torch: ``(x.mT + y).view(-1)`` raises in torch and worked in refgrad."""
import random

import numpy as np
import pytest

import refgrad
from refgrad.ops._layout import follow_inputs, settled

torch = pytest.importorskip("torch")

A = np.random.default_rng(0).uniform(0.5, 2.0, (3, 4))
B = np.random.default_rng(1).uniform(0.5, 2.0, (3, 4))
C = np.random.default_rng(2).uniform(0.5, 2.0, (3, 4))


def _transposed(t, array):
    return t.tensor(np.ascontiguousarray(array.T)).t()


OPS = {  # (first operand transposed, the others C-contiguous)
    "add": lambda t, a, b, c: a + b, "sub.alpha": lambda t, a, b, c: t.sub(a, b, alpha=2),
    "mul": lambda t, a, b, c: a * b, "div": lambda t, a, b, c: a / b, "div.floor": lambda t, a, b, c: t.div(
        a, b, rounding_mode="floor"), "pow": lambda t, a, b, c: a ** b, "atan2": lambda t, a, b, c: t.atan2(a, b),
    "maximum": lambda t, a, b, c: t.maximum(a, b), "fmod": lambda t, a, b, c: t.fmod(a, b),
    "copysign": lambda t, a, b, c: t.copysign(a, b), "xlogy": lambda t, a, b, c: t.xlogy(a, b),
    "logaddexp": lambda t, a, b, c: t.logaddexp(a, b), "lt": lambda t, a, b, c: a < b,
    "eq": lambda t, a, b, c: t.eq(a, b), "logical_and": lambda t, a, b, c: t.logical_and(a, b),
    "bitwise_and": lambda t, a, b, c: t.bitwise_and(a > 1, b > 1), "isclose": lambda t, a, b, c: t.isclose(a, b),
    "where": lambda t, a, b, c: t.where(a > 1, b, c), "lerp": lambda t, a, b, c: t.lerp(a, b, c),
    "addcmul": lambda t, a, b, c: t.addcmul(a, b, c), "addcdiv": lambda t, a, b, c: t.addcdiv(a, b, c),
    "clamp": lambda t, a, b, c: t.clamp(a, b, c), "floor_divide": lambda t, a, b, c: t.floor_divide(a, b),
    "hypot": lambda t, a, b, c: t.hypot(a, b), "nextafter": lambda t, a, b, c: t.nextafter(a, b),
    "complex": lambda t, a, b, c: t.complex(a, b), "polar": lambda t, a, b, c: t.polar(a, b),
    "special.xlog1py": lambda t, a, b, c: t.special.xlog1py(a, b),
    "rsub": lambda t, a, b, c: t.rsub(c, a),  # other - input: other (here transposed) leads
}


def _observed(t, name):
    out = OPS[name](t, _transposed(t, A), t.tensor(B), t.tensor(C))
    try:
        out.view(-1)
        viewable = True
    except RuntimeError:
        viewable = False
    return tuple(out.stride()), out.is_contiguous(), viewable


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_transposed_first_operand_decides_the_layout(name):
    assert _observed(refgrad, name) == _observed(torch, name)
    assert _observed(torch, name) == ((1, 3), False, False)


def _random_operand(rng, shape):
    """The same operand on both modules: C, permuted, sliced or expanded."""
    kind, n = rng.randrange(4), int(np.prod(shape))
    values = np.arange(1.0, n + 1).reshape(shape)
    order = list(range(len(shape)))
    rng.shuffle(order)
    kept = tuple(rng.random() < 0.6 for _ in shape)

    def build(t):
        if kind == 0 or not shape:
            return t.tensor(values)
        if kind == 1:
            return t.tensor(np.ascontiguousarray(values.transpose(order))).permute(*np.argsort(order).tolist())
        if kind == 2:
            buffer = np.zeros(shape[:-1] + (2 * shape[-1],))
            buffer[..., ::2] = values
            return t.tensor(buffer)[..., ::2]
        return t.tensor(values[tuple(slice(None) if k else slice(0, 1) for k in kept)]).expand(*shape)
    return build


def _layout(x):
    return tuple(None if n == 1 else s for n, s in zip(x.shape, x.stride()))


def test_random_operand_layouts_match_torch():
    """300 random cases of 1-3 operands (up to 3 dimensions, broadcast): refgrad's add/mul/addcmul/where as torch."""
    rng = random.Random(11)
    for _ in range(300):
        shape = tuple(rng.randrange(1, 4) for _ in range(rng.randrange(1, 4)))
        builders = [_random_operand(rng, shape[rng.randrange(len(shape) + 1):] if rng.random() < 0.3 else shape)
                    for _ in range(3)]
        for op in (lambda t, a, b, c: a + b, lambda t, a, b, c: a * b, lambda t, a, b, c: t.addcmul(a, b, c),
                   lambda t, a, b, c: t.where(a > 2, b, c)):
            expected = _layout(op(torch, *(build(torch) for build in builders)))
            assert _layout(op(refgrad, *(build(refgrad) for build in builders))) == expected


def test_follow_inputs_keeps_a_result_already_in_torch_layout():
    a = np.asfortranarray(A)
    out = np.add(a, a)
    assert follow_inputs(out, a, a) is out


def test_settled_is_never_wrong():
    """settled(out, operands) is the hot paths' shortcut past follow_inputs: wherever it says NumPy's layout is
    torch's, follow_inputs (the rule matched against torch above) keeps ``out``. 3000 random NumPy layouts of 1-2
    operands (C, Fortran, permuted, sliced, broadcast from size 1, all strides 0), and the gradient of a sum
    (``broadcast_to`` of a number) times a C-contiguous operand, which it settles without ordering anything."""
    rng = np.random.default_rng(5)

    def operand(shape):
        shape = list(shape[rng.integers(0, len(shape) + 1):])
        shape = [1 if rng.random() < 0.3 else n for n in shape]
        values, kind = rng.random(shape), rng.integers(5)
        if kind == 1:
            return np.asfortranarray(values)
        if kind == 2 and shape:
            return np.repeat(values, 2, axis=-1)[..., ::2]
        if kind == 3 and len(shape) > 1:
            order = rng.permutation(len(shape))
            return np.ascontiguousarray(values.transpose(order)).transpose(np.argsort(order))
        if kind == 4:
            return np.broadcast_to(rng.random(()), shape)
        return values

    checked = 0
    for _ in range(3000):
        shape = tuple(int(n) for n in rng.integers(1, 4, rng.integers(2, 5)))
        operands = [operand(shape) for _ in range(rng.integers(1, 3))]
        out = np.add(*operands) if len(operands) > 1 else np.positive(operands[0])
        if out.shape != shape or not settled(out, operands):
            continue
        checked += 1
        assert follow_inputs(out, *operands) is out, [(a.shape, a.strides) for a in operands]
    assert checked > 400  # (526 with this seed)
    gradient, saved = np.broadcast_to(np.asarray(1.0), (3, 4)), np.ascontiguousarray(A)
    out = gradient * saved
    assert settled(out, (gradient, saved)) and follow_inputs(out, gradient, saved) is out
