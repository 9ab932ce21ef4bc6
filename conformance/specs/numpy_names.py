"""Specs for the NumPy keyword spellings torch's argument parser accepts (``axis`` for ``dim``, ``keepdims`` for
``keepdim``; refgrad/ops/_numpy_names.py): each variant reruns an existing spec with its ``dim``/``keepdim``
kwargs renamed, and ``sum.axis_and_dim`` checks the TypeError when both spellings are given."""
import dataclasses
import inspect

from hypothesis import strategies as st

from conformance.source import function_source
from conformance.specs import indexing, reductions, shape, tutorial
from conformance.specs._spec import Kwargs, OpSpec

_NUMPY = {"dim": "axis", "keepdim": "keepdims"}
# specs whose op is bound natively in torch (so takes the spellings), with a dim/keepdim kwarg to rename
_BASES = ("sum.dim", "mean.dim", "prod.dim", "var", "std", "var_mean", "std_mean", "logsumexp", "nansum", "nanmean",
          "max.dim", "min.dim", "amax", "amin", "aminmax", "argmax", "argmin", "any.dim", "median.dim", "mode",
          "kthvalue", "cumsum", "logcumsumexp", "cummax", "softmax", "squeeze", "unsqueeze", "sort",
          "argsort", "topk", "cat.dim")


def _renamed(fn):
    """The base spec's fn with ``dim``/``keepdim`` passed as ``axis``/``keepdims``, as self-contained source."""
    base = function_source(fn).split(" = ", 1)[1]
    source = (f"lambda t, *inputs, **kw: ({base})(t, *inputs, **{{{_NUMPY!r}.get(key, key): value "
              "for key, value in kw.items()})")
    function = eval(source)  # noqa: S307 - source built from the spec file, kept for reproducers
    function.__conformance_source__ = source
    return function


def _forwards_kwargs(fn) -> bool:
    """The base spec's fn passes its kwargs on unchanged (a fn naming ``dim`` itself would reject ``axis``)."""
    params = inspect.signature(fn).parameters.values()
    return any(p.kind is p.VAR_KEYWORD for p in params) and not any(p.name in _NUMPY for p in params)


def _variants():
    bases = {spec.name: spec for module in (reductions, tutorial, shape, indexing)
             for spec in getattr(module, "SPECS", []) if isinstance(spec, OpSpec)}
    assert all(_forwards_kwargs(bases[name].fn) for name in _BASES)
    return [dataclasses.replace(bases[name], name=f"{name.split('.')[0]}.numpy_names", fn=_renamed(bases[name].fn))
            for name in _BASES if name in bases]


def _axis(drawn):
    ndim = max(len(drawn[0]), 1)
    return st.fixed_dictionaries({"axis": st.integers(-ndim, ndim - 1)}, optional={"keepdims": st.booleans()})


def _both(drawn):
    return st.sampled_from([{"dim": 0, "axis": 0}, {"axis": 0, "keepdim": True, "keepdims": True},
                            {"dim": 0, "keepdim": False, "axis": -1}])


SPECS = [
    *_variants(),
    OpSpec("sum.axis_and_dim", lambda t, x, **kw: x.sum(**kw), kwargs=Kwargs(_axis, _both)),
    OpSpec("max.axis_positional", lambda t, x, **kw: t.max(x, 0, **kw),
           kwargs=Kwargs(lambda drawn: st.just({"keepdims": True}), lambda drawn: st.just({"axis": 0}))),
]
