"""torch.gradient: second-order accurate central differences in the interior and first- or second-order one-sided
differences at the edges, along each requested dimension.

Spacing is a scalar (the same step along every dimension), a list of scalars (one step per dimension) or a list
of 1-D coordinate tensors (non-uniform samples: the interior uses the three-point formula for unequal steps).
torch composes the result from slices, arithmetic and a final ``cat`` (its grad_fn is CatBackward0); so does
refgrad, so the gradient flows through refgrad's own ops, including into coordinate tensors.
"""
from __future__ import annotations

from refgrad.ops._registry import register
from refgrad.ops._scalar_ops import div_scalar, mul_scalar
from refgrad.ops.join import cat
from refgrad.tensor import Tensor

__all__ = ["gradient"]


def _part(x: Tensor, dim: int, start: int, stop: int | None = None) -> Tensor:
    n = x.shape[dim]
    start = start % n if start < 0 else start
    stop = n if stop is None else (stop % n if stop < 0 else stop)
    return x.narrow(dim, start, stop - start)


def _scaled(x: Tensor, factor, divide: bool = False) -> Tensor:
    """x * factor or x / factor for a Python number: MulBackward1/DivBackward1 as torch (they save no tensor)."""
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        return x / factor if divide else x * factor
    return div_scalar(x, factor) if divide else mul_scalar(x, factor)


def _uniform(x: Tensor, dim: int, h, edge_order: int) -> Tensor:
    center = _scaled(_part(x, dim, 2) - _part(x, dim, 0, -2), h, divide=True)
    if edge_order == 1:
        first = _scaled(_part(x, dim, 1, 2) - _part(x, dim, 0, 1), h, divide=True)
        last = _scaled(_part(x, dim, -1) - _part(x, dim, -2, -1), h, divide=True)
    else:
        first = _scaled(_scaled(_part(x, dim, 0, 1), -1.5) + _scaled(_part(x, dim, 1, 2), 2)
                        - _scaled(_part(x, dim, 2, 3), 0.5), h, divide=True)
        last = _scaled(_scaled(_part(x, dim, -3, -2), 0.5) - _scaled(_part(x, dim, -2, -1), 2)
                       + _scaled(_part(x, dim, -1), 1.5), h, divide=True)
    return cat([first, _scaled(center, 2, divide=True), last], dim)


def _coordinates(x: Tensor, dim: int, coords: Tensor, edge_order: int) -> Tensor:
    shape = [1] * x.ndim
    shape[dim] = -1
    steps = coords.diff()
    h1, h2 = steps[:-1], steps[1:]
    a = (-h2 / (h1 * (h1 + h2))).reshape(shape)
    b = ((h2 - h1) / (h1 * h2)).reshape(shape)
    c = (h1 / (h2 * (h1 + h2))).reshape(shape)
    center = a * _part(x, dim, 0, -2) + b * _part(x, dim, 1, -1) + c * _part(x, dim, 2)
    if edge_order == 1:
        first = (_part(x, dim, 1, 2) - _part(x, dim, 0, 1)) / steps[0]
        last = (_part(x, dim, -1) - _part(x, dim, -2, -1)) / steps[-1]
    else:
        d0, d1 = steps[0], steps[1]
        first = (-(2.0 * d0 + d1) / (d0 * (d0 + d1)) * _part(x, dim, 0, 1) + (d0 + d1) / (d0 * d1) * _part(x, dim, 1, 2)
                 + (-d0) / (d1 * (d0 + d1)) * _part(x, dim, 2, 3))
        e1, e2 = steps[-1], steps[-2]
        last = (e1 / (e2 * (e1 + e2)) * _part(x, dim, -3, -2) - (e1 + e2) / (e1 * e2) * _part(x, dim, -2, -1)
                + (2 * e1 + e2) / (e1 * (e1 + e2)) * _part(x, dim, -1))
    return cat([first, center, last], dim)


@register()
def gradient(input, *, spacing=1, dim=None, edge_order: int = 1):
    """Estimates of the derivative of ``input`` sampled on a grid, one tensor per dimension (torch.gradient)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    given_dim = dim is not None
    dims = list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [d % input.ndim for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            if given_dim:
                raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
                                   f"dim arguments to have the same length, but got a spacing argument of length "
                                   f"{len(spacing)} and a dim argument of length {len(dims)}.")
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                               f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got a "
                               f"list of length {len(spacing)}")
        steps = list(spacing)
    else:
        steps = [spacing] * len(dims)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    results = []
    for d, h in zip(dims, steps):
        if isinstance(h, Tensor) and h.ndim == 1:
            results.append(_coordinates(input, d, h, edge_order))
        else:
            results.append(_uniform(input, d, h.item() if isinstance(h, Tensor) else h, edge_order))
    return tuple(results)
