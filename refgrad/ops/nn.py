"""torch.nn.functional: the shared building blocks of the nn family, and the dense layers and distance ops.

Building blocks used by conv, pooling, normalization and losses:

* ``sparse_map``/``sparse_map_adjoint``: ``y[b, m] = sum_j w[m, j] * x[b, idx[m, j]]`` over the flattened
  trailing (spatial) dims, and its transpose. Padding, pooling, interpolation and im2col are all such maps; each
  primitive's VJP is the other one, so every double backward through them works.
* ``einsum``: a multilinear contraction whose VJP is again an einsum.
* the elementwise pieces of the composites (abs, sgn, sqrt, clamp_min, xlogy, log_softmax...) are the public
  refgrad ops, so they carry torch's node names (``l1_loss(reduction='none')`` -> AbsBackward0).
"""
from __future__ import annotations

from functools import partial

import numpy as np

from refgrad import dtypes
from refgrad.autograd._jvp import multilinear, reduced_elementwise
from refgrad.ops._contract import contract
from refgrad.ops._layout import contiguous_result, in_order, memory_order
from refgrad.ops._primitive import Primitive
from refgrad.ops._registry import register
from refgrad.ops._util import promote, wrap_dim
from refgrad.ops.linalg import _layouts, mat1_grad, mat2_grad
from refgrad.ops.selection import clamp_min
from refgrad.ops.unary import abs as tensor_abs
from refgrad.ops.unary import sgn
from refgrad.tensor import _SCALAR_TYPE, Tensor

_REDUCTIONS = ("none", "mean", "sum")


# --- reductions shared by the losses ------------------------------------------------------------------------

def _reduce_forward(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.mean(loss, dtype=loss.dtype)
    if reduction == "sum":
        return np.sum(loss, dtype=loss.dtype)
    return loss


def _reduce_backward(g, shape, reduction: str):
    """The cotangent of an elementwise loss before its reduction."""
    if reduction == "none":
        return g
    numel = int(np.prod(shape))
    return g.expand(shape) / numel if reduction == "mean" else g.expand(shape)


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply a loss reduction with refgrad ops (MeanBackward0 / SumBackward0 as in torch's composites)."""
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """torch's mapping of the deprecated size_average/reduce flags onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def const(array, like: Tensor | None = None) -> Tensor:
    """A constant (no-grad) tensor, cast to ``like``'s dtype when given."""
    array = np.asarray(array)
    if like is not None:
        array = array.astype(like._data.dtype, copy=False)
    return Tensor._make(array)


def not_differentiable(function: str, argument: str, tensor) -> None:
    """torch's refusal when a non-differentiable argument requires grad (checked under grad mode only)."""
    if tensor is None:
        return
    from refgrad.autograd.grad_mode import is_grad_enabled
    if tensor is not None and isinstance(tensor, Tensor) and tensor.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument '{argument}'. "
                           "This input cannot have requires_grad True.")


# torch clamps some norms in place under no_grad: the value is clamped but the gradient passes unchanged
# (forward mode is blind to grad mode: torch's tangent does see the in-place clamp, zero where it clamps)
_clamp_min_value_only = Primitive("CloneBackward0", lambda a, min: np.maximum(a, np.asarray(min, a.dtype)),
                                  lambda c, g: g, jvp=lambda c, t: t * const(c.self._data >= c.min, t))


# --- einsum ------------------------------------------------------------------------------------------------

_EINSUM_CACHE: dict = {}


def _einsum_vjp(c, g):
    operands_spec, out_spec = c.spec.split("->")
    specs = operands_spec.split(",")
    # each operand is saved when another one requires grad (as torch's _trilinear): unpack all the saved ones
    # first, so an in-place change to any of them is caught
    needed = {i for i in range(len(specs)) if any(c.needs_input_grad(k) for k in range(len(specs)) if k != i)}
    operands = {i: getattr(c, f"a{i}") for i in sorted(needed)}
    grads = []
    for k, sub in enumerate(specs):
        if not c.needs_input_grad(k):
            grads.append(None)
            continue
        others = [(specs[i], operands[i]) for i in range(len(specs)) if i != k]
        available = set(out_spec).union(*[set(s) for s, _ in others])
        target = "".join(ch for ch in sub if ch in available)
        grad = einsum(",".join([out_spec] + [s for s, _ in others]) + "->" + target, g, *[t for _, t in others])
        if target != sub:  # an index only this operand carries was summed: broadcast it back
            for pos, ch in enumerate(sub):
                if ch not in available:
                    grad = grad.unsqueeze(pos)
            grad = grad.expand(c._input_meta[k][0])
        grads.append(grad)
    return tuple(grads)


def _einsum_left_to_right(spec: str, arrays) -> np.ndarray:
    """np.einsum contracting the operands pairwise from the left, as torch's _trilinear and its backward do: a
    zero against an infinity then only meets the other operands' sum (0 * 1 + 1 * 1 = 1, times inf), not a
    0 * inf term of the full product."""
    path = ["einsum_path"] + [(0, 1)] + [(0, len(arrays) - 1 - k) for k in range(1, len(arrays) - 1)]
    out = np.einsum(spec, *arrays, optimize=path) if len(arrays) > 2 else contract(spec, *arrays)
    return np.asarray(out).astype(arrays[0].dtype, copy=False)


def einsum(spec: str, *tensors: Tensor, name: str = "EinsumBackward0") -> Tensor:
    """A multilinear contraction (NumPy einsum spec) recorded as one node called ``name``."""
    key = (name, len(tensors))
    prim = _EINSUM_CACHE.get(key)
    if prim is None:
        names = tuple(f"a{i}" for i in range(len(tensors)))
        prim = _EINSUM_CACHE[key] = Primitive(
            name, lambda *arrays, spec: _einsum_left_to_right(spec, arrays),
            _einsum_vjp, inputs=names, save={n: tuple(m for m in names if m != n) for n in names})
    return prim(*tensors, spec=spec)


# --- sparse linear maps over the trailing dims --------------------------------------------------------------

def _map_np(x: np.ndarray, index: np.ndarray, weight, nd: int, out_spatial: tuple) -> np.ndarray:
    """y[b, m] = sum_j weight[m, j] * x[b, index[m, j]] (index < 0: no term). ``index`` (M, J) or (B, M, J)."""
    lead = x.shape[:x.ndim - nd]
    flat = x.reshape(int(np.prod(lead, dtype=np.int64)), -1)
    valid = index >= 0
    complete = bool(valid.all())  # no padding taps: no masking needed
    safe = index if complete else np.where(valid, index, 0)
    if index.ndim == 2:
        picked = np.take(flat, safe, axis=1)  # (B, M, J)
    else:
        picked = np.take_along_axis(flat, safe.reshape(flat.shape[0], -1), axis=1).reshape(index.shape)
    if not complete:
        picked = np.where(valid, picked, np.zeros((), x.dtype))
    if weight is not None:
        picked = picked * np.asarray(weight, x.dtype)
    out = picked.sum(axis=-1, dtype=x.dtype) if picked.shape[-1] > 1 else picked[..., 0]
    return out.reshape(lead + tuple(out_spatial))


def _map_adjoint_np(g: np.ndarray, index: np.ndarray, weight, nd_out: int, in_spatial: tuple) -> np.ndarray:
    lead = g.shape[:g.ndim - nd_out]
    batch = int(np.prod(lead, dtype=np.int64))
    flat = g.reshape(batch, -1)
    size = int(np.prod(in_spatial, dtype=np.int64))
    contrib = np.broadcast_to(flat[:, :, None], (batch,) + index.shape[-2:])
    if weight is not None:
        contrib = contrib * np.asarray(weight, g.dtype)
    out = np.zeros((batch, size), dtype=g.dtype)
    if index.ndim == 2:  # one table for every row: sort its terms by target once, then one segmented sum
        targets = index.reshape(-1)
        order = np.argsort(targets, kind="stable")  # stable: each target's terms are added in (m, j) order
        targets = targets[order]
        first = int(np.searchsorted(targets, 0))  # index < 0: no term
        order, targets = order[first:], targets[first:]
        if targets.size:
            starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
            out[:, targets[starts]] = np.add.reduceat(contrib.reshape(batch, -1)[:, order], starts, axis=1)
        return out.reshape(lead + tuple(in_spatial))
    valid = np.broadcast_to(index >= 0, contrib.shape)
    rows = np.broadcast_to(np.arange(batch)[:, None, None], contrib.shape)
    cols = np.broadcast_to(index, contrib.shape)
    np.add.at(out, (rows[valid], cols[valid]), contrib[valid])
    return out.reshape(lead + tuple(in_spatial))


_MAP_CACHE: dict = {}
# torch's backward of pooling/padding kernels also takes the input, so their double backward returns zeros (not
# None) for it (nll_sampling's grid gradient adds this zero-valued, input-connected term)
_zeros_of = Primitive("ZerosLikeBackward0", np.zeros_like, lambda c, g: Tensor._make(np.zeros(c._input_meta[0][0],
                                                                                          g._data.dtype)))


def _adjoint_name(name: str) -> str:
    """The node of a sparse map's gradient: torch's <op>BackwardBackward0 for the pooling, padding and upsampling
    kernels (max_pool2d_with_indices_backward...), which torch records as one op; an internal map's otherwise."""
    if name in ("SparseMapBackward0", "CopySlices"):  # conv's columns; circular padding (torch: slices)
        return "SparseMapAdjointBackward0"
    return name[:-len("Backward0")] + "BackwardBackward0"


def _map_vjp(c, g):
    return sparse_map_adjoint(g, c.index, c.weight, c.in_spatial, c.out_spatial, name=_adjoint_name(c.name()),
                              input=c.self if c.link else None)


def _map_prims(name: str, link: bool = False):
    prim = _MAP_CACHE.get((name, link))
    if prim is None:
        prim = _MAP_CACHE[(name, link)] = Primitive(
            name, lambda x, index, weight, nd, out_spatial, in_spatial, link: _map_np(x, index, weight, nd,
                                                                                       out_spatial),
            _map_vjp, save=("self",) if link else ())
    return prim


def _adjoint_forward(g, *input, index, weight, in_spatial, out_spatial):
    return _map_adjoint_np(g, index, weight, len(out_spatial), in_spatial)


def _adjoint_vjp(c, gg):
    """The map again in grad_output; zeros that do not require grad in the kernel's input (torch's zeros_like)."""
    params = c._params
    grad = None
    if c.needs_input_grad(0):
        grad = sparse_map(gg, params["index"], params["weight"], params["in_spatial"], params["out_spatial"])
    if len(c.next_functions) == 1:
        return grad
    zeros = Tensor._make(np.zeros(c._input_meta[1][0], gg._data.dtype)) if c.needs_input_grad(1) \
        else None
    return grad, zeros


def _adjoint_jvp(c, grad_output_tangent, input_tangent=None):
    """torch's forward derivative of these backward kernels: the kernel applied to grad_output's tangent, no term
    in the input: no tangent when grad_output has none. The max-pooling kernels' (by their saved indices) never
    read the input: zeros then, and a tangent that requires grad only if grad_output's does."""
    name = c.name()
    if "Max" in name:  # (Max|AdaptiveMax)Pool*BackwardBackward0
        if grad_output_tangent is None:
            result = c._jvp_call[1][0]._data
            return Tensor._make(np.zeros(result.shape, result.dtype))
        return _adjoint_prim(name, False)(grad_output_tangent, **c._params)
    if grad_output_tangent is None:
        return None
    tensors = c._jvp_call[0]
    return _adjoint_prim(name, len(tensors) > 1)(grad_output_tangent, *tensors[1:], **c._params)


_adjoint_jvp.skips_missing = True
_ADJOINTS: dict = {}


def _adjoint_prim(name: str, linked: bool) -> Primitive:
    prim = _ADJOINTS.get((name, linked))
    if prim is None:
        prim = _ADJOINTS[(name, linked)] = Primitive(
            name, _adjoint_forward, _adjoint_vjp, jvp=_adjoint_jvp,
            inputs=("grad_output", "self") if linked else ("grad_output",))
    return prim


def sparse_map(x: Tensor, index: np.ndarray, weight, in_spatial: tuple, out_spatial: tuple,
               name: str = "SparseMapBackward0", link: bool = False) -> Tensor:
    """The sparse linear map (see module docstring) from trailing dims ``in_spatial`` to ``out_spatial``;
    ``link``: the double backward gives zeros (not None) for ``x``, as torch's pooling/padding kernels do."""
    return _map_prims(name, link)(x, index=index, weight=weight, nd=len(in_spatial), out_spatial=tuple(out_spatial),
                                  in_spatial=tuple(in_spatial), link=link)


def sparse_map_adjoint(g: Tensor, index: np.ndarray, weight, in_spatial: tuple, out_spatial: tuple,
                       name: str = "SparseMapAdjointBackward0", input: Tensor | None = None) -> Tensor:
    """The transpose of :func:`sparse_map`: scatter-adds ``g`` (trailing dims ``out_spatial``) to ``in_spatial``,
    recorded as ``name``; with ``input`` (the kernel's input, as torch's pooling/padding backward kernels take),
    the node also has an edge to it, whose double backward is zeros."""
    tensors = (g,) if input is None else (g, input)
    return _adjoint_prim(name, input is not None)(*tensors, index=index, weight=weight, in_spatial=tuple(in_spatial),
                                                  out_spatial=tuple(out_spatial))


def grid_index(per_dim: list[np.ndarray], in_spatial: tuple) -> np.ndarray:
    """Combine per-dim index tables (O_d, J_d) (-1 = none) into flat (prod O, prod J) indices over in_spatial."""
    index = np.zeros((1, 1), dtype=np.int64)
    valid = np.ones((1, 1), dtype=bool)
    for table, size in zip(per_dim, in_spatial):
        rows, cols = index.shape[0] * table.shape[0], index.shape[1] * table.shape[1]  # explicit: sizes may be 0
        index = (index[:, None, :, None] * size + table[None, :, None, :]).reshape(rows, cols)
        valid = (valid[:, None, :, None] & (table >= 0)[None, :, None, :]).reshape(rows, cols)
    return np.where(valid, index, -1)


def grid_weight(per_dim: list[np.ndarray]) -> np.ndarray:
    """Outer product of per-dim weight tables (O_d, J_d), laid out like :func:`grid_index`."""
    weight = np.ones((1, 1))
    for table in per_dim:
        rows, cols = weight.shape[0] * table.shape[0], weight.shape[1] * table.shape[1]
        weight = (weight[:, None, :, None] * table[None, :, None, :]).reshape(rows, cols)
    return weight


# --- linear layers ----------------------------------------------------------------------------------------

def _addmm_vjp(c, g, layouts=0):
    """torch's addmm gradients (beta = alpha = 1): g, and mm's (see refgrad.ops.linalg._mm_vjp)."""
    grad_bias = g if c.needs_input_grad(0) else None
    grad_a = mat1_grad(g, c.mat2, layouts & 1) if c.needs_input_grad(1) else None
    grad_b = mat2_grad(g, c.mat1, layouts & 2) if c.needs_input_grad(2) else None
    return grad_bias, grad_a, grad_b


def _addmm_forward(bias, a, b):
    return (bias + a @ b).astype(a.dtype, copy=False)


#: linear's addmm by its matrices' layouts (index: refgrad.ops.linalg._layouts); the weight's transpose, its mat2,
#: is column-major whenever the weight is contiguous
_ADDMM = tuple(Primitive("AddmmBackward0", _addmm_forward, partial(_addmm_vjp, layouts=layouts),
                         inputs=("self", "mat1", "mat2"), save={"mat1": ("mat2",), "mat2": ("mat1",)},
                         jvp=multilinear(1, 2)) for layouts in range(4))


def _addmm(bias, mat1, mat2):
    return _ADDMM[_layouts(mat1._data, mat2._data)](bias, mat1, mat2)


def _check_same_dtype(*tensors) -> None:
    present = [t for t in tensors if t is not None]
    for t in present[1:]:
        if t.dtype is not present[0].dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_scalar_name(present[0].dtype)} "
                               f"and {_scalar_name(t.dtype)}")


_squeeze_first = Primitive("SqueezeBackward4", lambda a: a[0], lambda c, g: g.unsqueeze(0), view=True)


@register(namespace="torch.nn.functional")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias (torch.nn.functional.linear); node names follow torch's addmm/matmul paths."""
    _check_same_dtype(input, weight, bias)
    if input.shape[-1] != weight.shape[-1]:
        rows = int(np.prod(input.shape[:-1])) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0] if weight.ndim == 2 else 1})")
    if bias is None:
        if input.ndim == 1:
            return _squeeze_first(input.unsqueeze(0).matmul(weight.t())) if weight.ndim == 2 else input.matmul(weight)
        return input.matmul(weight.t())
    if input.ndim == 2 and bias.ndim <= 1:
        return _addmm(bias, input, weight.t())
    if not (input.is_contiguous() and bias.ndim == 1 and bias.is_contiguous()):
        # torch 2.13 flattens into addmm only a contiguous input with a contiguous 1-d bias (a sliced, expanded or
        # 0-d bias: matmul, then the bias added; a 1-d input's gradient is then SqueezeBackward1, not ViewBackward0)
        return input.matmul(weight.t()) + bias
    rows = input.reshape(-1, input.shape[-1])
    out = _addmm(bias, rows, weight.t())
    return out.view(tuple(input.shape[:-1]) + (weight.shape[0],))


def _trilinear_np(a0, a1, a2, spec, unroll):
    """torch's _trilinear on arrays: per slice of the ``unroll`` index, p0 times p1 summed over the indices absent
    from p2 and the output, then times p2 summed over the rest; the slices are summed last when ``unroll`` is
    not in the output. The order decides between inf, NaN and an underflowed 0 where zeros or tiny values meet
    infinities (measured against torch 2.13 on bilinear's forward, gradients and second order)."""
    inputs, out = spec.split("->")
    s0, s1, s2 = inputs.split(",")
    keep = set(s2) | set(out) | {unroll}
    s01 = "".join(i for i in dict.fromkeys(s0 + s1) if i in keep)
    s012 = "".join(i for i in dict.fromkeys(s01 + s2) if i in set(out) | {unroll})
    partial = contract(f"{s0},{s1}->{s01}", a0, a1)
    full = contract(f"{s01},{s2}->{s012}", partial, a2)
    if unroll in s012 and unroll not in out:
        full = full.sum(axis=s012.index(unroll))
        s012 = s012.replace(unroll, "")
    return np.asarray(np.einsum(f"{s012}->{out}", full)).astype(a0.dtype, copy=False)


def _trilinear_vjp(c, g):
    """torch's _trilinear_backward: with operands (p0, p1, p2), p0's gradient is the node (g, p1, p2), p1's
    (p0, g, p2) and p2's (p0, p1, g), each again such a node with the same unrolled index. Each operand is saved
    only for the others' gradients."""
    inputs, out = c.spec.split("->")
    subs = inputs.split(",")
    operands = [c.a0 if any(c.needs_input_grad(k) for k in (1, 2)) else None,
                c.a1 if any(c.needs_input_grad(k) for k in (0, 2)) else None,
                c.a2 if any(c.needs_input_grad(k) for k in (0, 1)) else None]
    grads = []
    for k in range(3):
        if not c.needs_input_grad(k):
            grads.append(None)
            continue
        picked = [(out, g) if i == k else (subs[i], operands[i]) for i in range(3)]
        grads.append(trilinear(",".join(p[0] for p in picked) + "->" + subs[k], *(p[1] for p in picked),
                               unroll=c.unroll))
    return tuple(grads)


_TRILINEAR_NAMES = ("a0", "a1", "a2")
_trilinear = Primitive("TrilinearBackward0", _trilinear_np, _trilinear_vjp, inputs=_TRILINEAR_NAMES,
                       save={n: tuple(m for m in _TRILINEAR_NAMES if m != n) for n in _TRILINEAR_NAMES},
                       jvp=multilinear(0, 1, 2))


def trilinear(spec: str, p0: Tensor, p1: Tensor, p2: Tensor, unroll: str) -> Tensor:
    """A three-operand contraction (NumPy einsum spec, every index in at least two operands) as torch's
    _trilinear (TrilinearBackward0) with its loop over the index ``unroll``: see :func:`_trilinear_np`."""
    return _trilinear(p0, p1, p2, spec=spec, unroll=unroll)


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x1^T W x2 + b per output feature (torch.nn.functional.bilinear)."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if weight.ndim != 3 or weight.shape[1] != input1.shape[-1] or weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1] if weight.ndim == 3 else '?'}")
    lead = tuple(input1.shape[:-1])
    a = input1.reshape(-1, input1.shape[-1])
    b = input2.reshape(-1, input2.shape[-1])
    out = trilinear("ni,oij,nj->no", a, weight, b, unroll="o")  # torch loops over the output features
    out = out.view(lead + (weight.shape[0],))
    return out if bias is None else out + bias


# --- embedding, one_hot, dropout -----------------------------------------------------------------------------

def _embedding_backward(g: Tensor, index: np.ndarray, num_weights: int, padding_idx) -> Tensor:
    table = index.reshape(-1, 1)
    if padding_idx is not None:
        table = np.where(table == padding_idx, -1, table)
    flat = g.reshape(1, -1, g.shape[-1]).transpose(1, 2)  # (1, D, M): rows are the map's trailing dim
    return sparse_map_adjoint(flat, table, None, (num_weights,), (table.shape[0],)).transpose(1, 2)[0]


_embedding = Primitive("EmbeddingBackward0",  # (torch: index_select, then a view: contiguous)
                       contiguous_result(lambda w, index_tensor, indices, padding_idx: w[indices]),
                       lambda c, g: (_embedding_backward(g, c.index_tensor._data.astype(np.int64),
                                                         c._input_meta[0][0][0], c.padding_idx), None),
                       inputs=("weight", "index_tensor"), save=("index_tensor",),  # torch saves the indices
                       jvp="linear")  # torch's tangent is weight_t[indices], padding row included (the true derivative)


@register(namespace="torch.nn.functional")
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ``input`` (torch.nn.functional.embedding); padding_idx rows get no
    gradient, duplicate indices accumulate."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not implemented")
    if input.dtype not in (dtypes.int64, dtypes.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{_c_name(input.dtype)} instead (while checking arguments "
                           f"for embedding)")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx % num
    indices = input._data.astype(np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= num):
        raise IndexError("index out of range in self")
    return _embedding(weight, input, indices=indices, padding_idx=padding_idx)


@register(namespace="torch.nn.functional")
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding along a new last dim (torch.nn.functional.one_hot)."""
    if tensor.dtype is not dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    data = tensor._data
    if data.size == 0 and num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    if data.size and data.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(data.max()) + 1
    elif data.size and data.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._make((data[..., None] == np.arange(num_classes)).astype(np.int64, order="C"))  # (as torch)


@register(namespace="torch.nn.functional")
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) (torch.nn.functional.dropout).

    ``training=False`` and ``p=0`` return ``input`` itself, as torch does. For 0 < p the mask comes from
    refgrad's generator, so only its statistics (not its values) can be compared with torch.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    from refgrad.factories import rand
    keep = rand(*input.shape, dtype=input.dtype)._data >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = const(keep * scale, input)
    return input.mul_(mask) if inplace else input * mask


# --- distances and normalisation of vectors ----------------------------------------------------------------

def _pnorm_forward(a, p, dim, keepdim):
    mag = np.abs(a)
    if a.shape[dim] == 1 and p != 0:  # as torch: the norm of one element is |x| exactly (no x**p round trip)
        out = mag if keepdim else np.squeeze(mag, axis=dim)
    elif p == 2:
        out = np.sqrt(np.sum(mag * mag, axis=dim, keepdims=keepdim))
    elif p == 1:
        out = np.sum(mag, axis=dim, keepdims=keepdim)
    elif p == np.inf:
        out = np.max(mag, axis=dim, keepdims=keepdim) if a.shape[dim] else np.zeros(())
    elif p == 0:
        out = np.sum(mag != 0, axis=dim, keepdims=keepdim)
    else:
        out = np.sum(mag ** p, axis=dim, keepdims=keepdim) ** (1.0 / p)
    return np.asarray(out, dtype=mag.dtype)  # real for complex inputs


def _pnorm_vjp(c, g):
    x, norm, p = c.self, c.result, c.p
    if not c.keepdim:
        g, norm = g.unsqueeze(c.dim), norm.unsqueeze(c.dim)
    zero = const(norm._data == 0)
    if p == 0:
        return x * 0
    if p == 1:
        return g * sgn(x)
    if p == 2:  # torch's form: g * (x / norm) zeroed where norm is 0 (so its double backward matches torch's)
        return g * (x / norm).masked_fill(zero, 0.0)
    if p == np.inf:
        at_max = const(np.abs(x._data) == norm._data, x)
        count = at_max.sum(c.dim, keepdim=True)
        return g * sgn(x) * at_max / count
    scale = g / norm.masked_fill(zero, 1.0).pow(p - 1)
    return (x * tensor_abs(x).pow(p - 2) * scale).masked_fill(zero.expand(x.shape), 0.0)


_pnorm = Primitive("NormBackward1", _pnorm_forward, _pnorm_vjp, save=("self", "result"))


def _linalg_vector_norm(x: Tensor, p: float, dim: int) -> Tensor:
    """torch.linalg.vector_norm(x, p, dim, keepdim=True) as torch computes it (e.g. |x| itself for a single
    element, so a tiny x's norm does not underflow through x * x)."""
    from refgrad.ops.linalg_norms import _vector_norm
    return _vector_norm(x, ord=p, dims=(dim,), keepdim=True)


def _float_check(name: str, *tensors) -> None:
    for t in tensors:
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"{name}: expected a floating point tensor, but got {_scalar_name(t.dtype)}")


@register(namespace="torch.nn.functional")
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """input / max(||input||_p, eps) along ``dim`` (torch.nn.functional.normalize); the zero vector gets
    gradient 1/eps (1e12 by default), from the eps clamp, as in torch."""
    _float_check("linalg.vector_norm", input)
    d = wrap_dim(dim, input.ndim)
    norm = _linalg_vector_norm(input, float(p), d) if input.ndim else tensor_abs(input)
    denom = clamp_min(norm, eps).expand(input.shape)
    return input / denom


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along ``dim`` (torch.nn.functional.cosine_similarity); each norm is
    clamped at eps in value only, as torch does, so zero vectors give huge finite gradients."""
    dtype, (a, b) = promote(x1, x2)
    if not dtype.is_floating_point:
        raise RuntimeError("cosine_similarity requires floating point inputs")
    shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    a = a.to(dtype).expand(shape) if a.shape != shape else a.to(dtype)
    b = b.to(dtype).expand(shape) if b.shape != shape else b.to(dtype)
    d = wrap_dim(dim, len(shape))
    na = _clamp_min_value_only(_linalg_vector_norm(a, 2.0, d), min=eps)
    nb = _clamp_min_value_only(_linalg_vector_norm(b, 2.0, d), min=eps)
    return ((a / na) * (b / nb)).sum(d)


@register(namespace="torch")
@register(namespace="torch.nn.functional")
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (torch.nn.functional.pairwise_distance)."""
    diff = x1 - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1) if not keepdim else diff
    return _pnorm(diff, p=float(p), dim=diff.ndim - 1, keepdim=keepdim)


def _scalar_name(dtype) -> str:
    from refgrad.tensor import _SCALAR_TYPE
    return _SCALAR_TYPE[dtype.name]


def _c_name(dtype) -> str:
    from refgrad.tensor import _C_TYPE
    return _C_TYPE[dtype.name]


# --- binary cross-entropy with logits ----------------------------------------------------------------------

def _bce_logits_forward(x, y, *extra, reduction, has_weight, has_pos_weight):
    weight = extra[0] if has_weight else None
    pos_weight = extra[-1] if has_pos_weight else None
    softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))  # log(1 + exp(-x)), stable
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    loss = (1 - y) * x + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    loss = np.asarray(loss, dtype=x.dtype)
    if reduction == "none" and y.ndim > 1 and not y.flags.c_contiguous:  # torch writes the elementwise loss in the
        loss = in_order(loss, memory_order(y))  # target's memory order (checked on torch 2.13, any weights)
    return _reduce_forward(loss, reduction)


def _bce_logits_vjp(c, g):
    """torch's two backward formulas, op for op (so that a create_graph gradient records torch's nodes): the
    elementwise gradient times the cotangent (0-d for a reduction), times the weight, divided by numel for a mean."""
    from refgrad.ops._scalar_ops import add_scalar, div_scalar
    from refgrad.ops.activations import logsigmoid
    from refgrad.ops.elementwise import sigmoid
    x, y = c.self, c.target
    w = c.weight if c.has_weight else None  # saved and unpacked, as torch: an in-place change is reported
    pw = c.pos_weight if c.has_pos_weight else None
    grads = []
    for index, needed in enumerate((c.needs_input_grad(0), c.needs_input_grad(1))):
        if not needed:
            grads.append(None)
            continue
        if index == 0:  # d/d input: sigmoid(x) - y, or ((pw y + 1) - y) sigmoid(x) - pw y
            if pw is None:
                grad = sigmoid(x) - y
            else:
                t = pw * y
                grad = (add_scalar(t, 1) - y) * sigmoid(x) - t
        else:  # d/d target: -x, or log sigmoid(-x) - pw log sigmoid(x) (x = -inf with pw = 1 gives +inf, not NaN)
            grad = -x if pw is None else logsigmoid(-x) - logsigmoid(x) * pw
        grad = grad * g
        if w is not None:
            grad = grad * w
        if c.reduction == "mean":
            grad = div_scalar(grad, x.numel())
        grads.append(grad)
    return tuple(grads) + (None,) * (len(c._input_meta) - 2)


def _bce_logits_jvp(ctx, *tangents):
    return reduced_elementwise(ctx, *tangents)


_bce_logits_jvp.skips_missing = True  # torch 2.13: a target tangent alone gives a tangent reading only the input


_BCE_LOGITS_PRIMS: dict = {}


def _bce_logits(has_weight: bool, has_pos_weight: bool) -> Primitive:
    """torch's node saves self, target, weight and pos_weight (the last two when given)."""
    key = (has_weight, has_pos_weight)
    if key not in _BCE_LOGITS_PRIMS:
        inputs = ("self", "target") + (("weight",) if has_weight else ()) + (("pos_weight",) if has_pos_weight
                                                                             else ())
        _BCE_LOGITS_PRIMS[key] = Primitive("BinaryCrossEntropyWithLogitsBackward0", _bce_logits_forward,
                                           _bce_logits_vjp, inputs=inputs, save=inputs, jvp=_bce_logits_jvp)
    return _BCE_LOGITS_PRIMS[key]


@register(namespace="torch.nn.functional")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one numerically stable step (torch.nn.functional, same name)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    dtype, (x, y) = promote(input, target)
    if not input.dtype.is_floating_point:  # torch's CPU kernel has no integer version
        raise NotImplementedError(f'"log_sigmoid_cpu" not implemented for \'{_SCALAR_TYPE[input.dtype.name]}\'')
    if target.dtype is dtypes.bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"result type {_SCALAR_TYPE[dtype.name]} can't be cast to the desired output type "
                           f"{_SCALAR_TYPE[target.dtype.name]}")
    dtype = target.dtype  # torch computes in the target's dtype (float64 logits, float32 target: float32)
    extra = [t for t in (weight, pos_weight) if t is not None]
    return _bce_logits(weight is not None, pos_weight is not None)(
        x, y, *extra, cast=dtype, reduction=reduction, shape=tuple(np.broadcast_shapes(x.shape, y.shape)),
        has_weight=weight is not None, has_pos_weight=pos_weight is not None)
