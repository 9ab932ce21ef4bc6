"""torch's CreationMeta: how a view was made, and the one rule built on it. A view made any other way than
DEFAULT (under no_grad, in inference mode, as one of several views a function returns, inside a custom Function)
may not be written in place while recording, nor have its node regenerated after its base or a sibling view was
written: both raise torch's refusal. :func:`_view_creation` sets it, :func:`_check_view_rebase` applies it."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from refgrad.autograd.grad_mode import _state as _grad_mode

if TYPE_CHECKING:
    from refgrad.tensor import Tensor

DEFAULT, NO_GRAD_MODE, INFERENCE_MODE = "default", "no_grad mode", "inference mode"
MULTI_OUTPUT_NODE, IN_CUSTOM_FUNCTION = "multi-output node", "custom Function"
_AMBIGUOUS = ("Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by "
              "moving both the view and the inplace either both inside the {} block (if you don't want the inplace "
              "to be tracked) or both outside (if you want the inplace to be tracked).")
_REBASE_ADVICE = {
    NO_GRAD_MODE: _AMBIGUOUS.format("no_grad"),
    INFERENCE_MODE: _AMBIGUOUS.format("inference_mode"),
    MULTI_OUTPUT_NODE: "This view is the output of a function that returns multiple views. Such functions do not allow "
                       "the output views to be modified inplace. You should replace the inplace operation by an "
                       "out-of-place one.",
    IN_CUSTOM_FUNCTION: "This view was created inside a custom Function (or because an input was returned as-is) and "
                        "the autograd logic to handle view+inplace would override the custom backward associated with "
                        "the custom Function, leading to incorrect gradients. This behavior is forbidden. You can fix "
                        "this by cloning the output of the custom Function.",
}


def _view_creation(view: "Tensor", source: "Tensor", made: str = DEFAULT) -> None:
    """Record how ``view`` (of ``source``) was made: in inference mode (whatever the grad mode), under no_grad, or
    with grad on as ``made`` (DEFAULT, MULTI_OUTPUT_NODE, IN_CUSTOM_FUNCTION). A DEFAULT view inherits its
    source's; an inference-mode one is never overridden. A view of an inference tensor is one."""
    if _grad_mode.inference:
        made = INFERENCE_MODE
    elif not _grad_mode.enabled:
        made = NO_GRAD_MODE
    inherited = source._creation_meta
    view._creation_meta = inherited if made is DEFAULT or inherited is INFERENCE_MODE else made
    view._is_inference = source._is_inference


def _check_view_rebase(view: "Tensor", indirect: bool) -> None:
    """torch's refusal of a view not made normally, when it is written in place while recording (``indirect``
    False) or read (its grad_fn) after its base or another view was written (``indirect``)."""
    if view._creation_meta is not DEFAULT:
        raise RuntimeError(_view_rebase_error(view, indirect))


def _view_rebase_error(view: "Tensor", indirect: bool) -> str:
    meta, node = view._creation_meta, view._grad_fn  # torch names the view's stored node
    what = "its base or another view of its base has been" if indirect else "is being"
    output = "" if node is None else f"Output {view._output_nr} of {re.sub(r'Backward[0-9]*$', '', node.name())}"
    if meta is NO_GRAD_MODE or meta is INFERENCE_MODE or node is None:  # no node: the view was made without grad
        where = "A view was created in" if node is None else f"{output} is a view of a view which was created in"
        head = (f"{where} inference mode and {what} modified inplace in normal mode." if meta is INFERENCE_MODE else
                f"{where} no_grad mode and {what} modified inplace with grad mode enabled.")
    else:
        head = f"{output} is a view and {what} modified inplace."
    return f"{head} {_REBASE_ADVICE[meta]}"
