"""The backward pass: one walk over the recorded graph, in torch's order, with torch's bookkeeping.

Nodes run when every consumer of their outputs has run (dependency counting) and, among the ready ones, the most
recently created first (torch's sequence-number priority), AccumulateGrad before any other (its sequence number is
the largest); ties between AccumulateGrads are broken as torch's std::priority_queue breaks them (_push, _pop).
Gradients arriving at one output are summed; each
input gradient is reduced to its input's shape and cast to its dtype (torch's ``validate_outputs``), then sent
along the edge. Leaves accumulate into ``.grad``; ``autograd.grad`` captures instead.
"""
from __future__ import annotations

import sys

import numpy as np

from refgrad._strides import empty_strided, torch_strides
from refgrad.autograd.grad_mode import _state as _grad_mode
from refgrad.autograd.grad_mode import is_grad_enabled
from refgrad.autograd.graph import ERR_DETACHED, AccumulateGrad, Node
from refgrad.autograd.zerotensor import IMMUTABLE as ZEROTENSOR_IMMUTABLE

__all__ = ["run_backward"]


def _plan(start: list, target_nodes: set, capture: bool) -> tuple[set, dict, bool]:
    """For a backward with ``inputs``: the nodes whose VJP must run (a target is reachable through them; without
    ``capture`` the reachable targets too: torch runs a non-leaf input's node, its hooks fire and a freed graph
    raises), how many of their edges point at each node, and whether every reachable node runs or is a target.
    One iterative post-order walk from ``start``: a node's children are done when it is left."""
    leads, runs, dependencies, seen = set(), set(), {}, set()
    get = dependencies.get
    idle = False
    for root in start:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, children = stack[-1]
            for child, _ in children:
                if child is not None and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.next_functions)))
                    break
            else:
                stack.pop()
                for child, _ in node.next_functions:
                    if child in leads:
                        leads.add(node)
                        break
                else:
                    if node not in target_nodes:
                        idle = True
                        continue
                    leads.add(node)
                    if capture:
                        continue
                runs.add(node)
                for child, _ in node.next_functions:
                    if child is not None:
                        dependencies[child] = get(child, 0) + 1
    return runs, dependencies, not idle


def _validate(node: Node, index: int, grad):
    """Reduce a VJP's output to its input's shape (undoing broadcasting) and cast it to the input's dtype."""
    shape, dtype = node._input_meta[index]
    if grad._data.shape == shape and grad._data.dtype == dtype.numpy:
        return grad
    if grad._data.shape != shape:
        if not _expandable(shape, grad._data.shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {index} - got "
                f"[{', '.join(map(str, grad.shape))}] but expected shape compatible with "
                f"[{', '.join(map(str, shape))}]")
        grad = (_REDUCE_TO_SIZE or _reduce_to_size())(grad, shape)
    if grad._data.dtype is not dtype.numpy and grad.dtype is not dtype:
        if grad.dtype.is_complex and not dtype.is_complex:  # a real input's gradient is the real part
            grad = grad.real
        grad = grad.to(dtype)
    return grad


def _expandable(shape: tuple, target: tuple) -> bool:
    lead = len(target) - len(shape)
    if lead < 0:
        return False
    for s, t in zip(shape, target[lead:]):
        if s != t and s != 1:
            return False
    return True


def _reduce_to_size():
    """refgrad.ops.reductions.reduce_to_size (the ops import the autograd package: imported on first use)."""
    global _REDUCE_TO_SIZE
    if _REDUCE_TO_SIZE is None:
        from refgrad.ops.reductions import reduce_to_size
        _REDUCE_TO_SIZE = reduce_to_size
    return _REDUCE_TO_SIZE


_REDUCE_TO_SIZE = None


_SOLE_REFS = 3  # what sys.getrefcount sees of a gradient only the engine holds: its local, _sole's argument, its own


def _sole(grad, variable) -> bool:
    """Whether nothing but the engine refers to ``grad`` and its (own, writable) array, laid out as the leaf
    ``variable`` (torch's layout contract): torch's AccumulateGrad then stores the gradient itself rather than a
    copy."""
    data = grad._data
    if grad._zerotensor:  # immutable: a view of another's zeros is stolen too (torch)
        return sys.getrefcount(grad) <= _SOLE_REFS and grad._grad_fn is None and _obeys_layout(data, variable._data)
    if sys.getrefcount(grad) > _SOLE_REFS or sys.getrefcount(data) > 3 or data.base is not None \
            or grad._base is not None or grad._grad_fn is not None:
        return False
    return data.flags.writeable and _obeys_layout(data, variable._data)


def non_overlapping_and_dense(array) -> bool:
    """torch's is_non_overlapping_and_dense: the elements tile one block of memory, in some order of the dims."""
    expected = array.itemsize
    for stride, size in sorted((stride, size) for stride, size in zip(array.strides, array.shape) if size != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _obeys_layout(grad, variable) -> bool:
    """torch's gradient layout contract for the arrays of a gradient and its leaf: the leaf's strides (in the
    dimensions of more than one element; a size-1 dimension must not have stride 0) where the leaf is dense, else
    C-contiguous."""
    if grad.flags.c_contiguous and variable.flags.c_contiguous:  # (the common case; NumPy's for every empty array)
        return 0 not in grad.strides if grad.size else _empty_obeys_layout(grad, variable)
    if not non_overlapping_and_dense(variable):
        return grad.flags.c_contiguous
    for size, stride, own in zip(grad.shape, grad.strides, variable.strides):
        if stride != own if size != 1 else stride == 0:
            return False
    return True


def _empty_obeys_layout(grad, variable) -> bool:
    """The layout contract for an empty gradient, by torch's strides (refgrad/_strides.py): an empty leaf is
    contiguous, hence dense, so its strides count."""
    for size, stride, own in zip(grad.shape, torch_strides(grad), torch_strides(variable)):
        if stride != own if size != 1 else stride == 0:
            return False
    return True


def _obeying_layout(grad, variable):
    """A copy of ``grad`` laid out as torch's AccumulateGrad lays a new ``.grad`` out: with the leaf's strides
    where the leaf is dense (an empty tensor of its layout, then copy_: CopyBackwards under create_graph), else
    C-contiguous (clone: CloneBackward0)."""
    data = variable._data
    if not non_overlapping_and_dense(data) and data.size:  # (an empty leaf is contiguous, so dense: torch)
        return grad.clone(memory_format=_contiguous_format())
    out = type(grad)._make(np.empty_like(data, order="K") if data.size  # (an empty leaf's strides: torch's)
                           else empty_strided(data.shape, torch_strides(data), data.dtype))
    if grad._grad_fn is not None or grad._requires_grad:
        return out.copy_(grad)
    np.copyto(out._data, grad._data)  # nothing to record: copy_'s effect, without its in-place machinery
    out._version_counter.value = 1  # (as torch's copy_ into the new tensor)
    return out


def _contiguous_format():
    from refgrad import contiguous_format
    return contiguous_format


def _accumulate(variable, grad, create_graph: bool) -> None:
    """AccumulateGrad: the first gradient is stored (a copy obeying the layout contract), later ones are added (in
    place unless recording)."""
    if variable._grad is None:
        grad = grad if create_graph else grad.detach()
        variable._grad = _obeying_layout(grad, variable)  # (an ordinary tensor, even of a ZeroTensor)
    elif create_graph:
        variable._grad = variable._grad + grad
    else:
        if variable._grad._zerotensor:  # a ZeroTensor stored by an earlier backward: immutable (torch)
            raise RuntimeError(ZEROTENSOR_IMMUTABLE)
        variable._grad._data += grad._data
        variable._grad._version_counter.value += 1
        if variable._grad._is_inference and not _grad_mode.inference:  # a .grad made in inference mode (torch)
            raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed.You can make "
                               "a clone to get a normal tensor before doing inplace update.See "
                               "https://github.com/pytorch/rfcs/pull/17 for more details.")


def _run_post_accumulate_hooks(variable) -> None:
    """Tensor.register_post_accumulate_grad_hook hooks, called with the leaf after its .grad was updated."""
    for hook in list(variable._post_accumulate_hooks.values()):
        returned = hook(variable)
        if returned is not None:
            raise TypeError(f"expected Variable, but hook returned '{type(returned).__name__}'")


def _retain(tensor, grad) -> None:
    if tensor._grad is None:  # (a clone: never a ZeroTensor)
        tensor._grad = grad.clone() if not is_grad_enabled() or grad._zerotensor else grad
    else:
        tensor._grad = tensor._grad + grad


def _count_dependencies(start: list[Node]) -> dict[Node, int]:
    """For every node reachable from ``start``: how many edges of the graph point at it. A node is visited when its
    count first becomes 1 (the dict is the visited set), a start node only from the start."""
    dependencies: dict[Node, int] = {}
    starts = dict.fromkeys(start)
    stack = list(starts)
    pop, push = stack.pop, stack.append
    if len(starts) == 1:  # one start: no edge points at it (the same walk, without the test)
        while stack:
            for child, _ in pop().next_functions:
                if child is not None:
                    if child in dependencies:
                        dependencies[child] += 1
                    else:
                        dependencies[child] = 1
                        push(child)
        return dependencies
    while stack:
        for child, _ in pop().next_functions:
            if child is not None:
                if child in dependencies:
                    dependencies[child] += 1
                else:
                    dependencies[child] = 1
                    if child not in starts:
                        push(child)
    return dependencies


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool, inputs=None,
                 capture: bool = False) -> list | None:
    """Back-propagate ``root_grads`` from ``roots`` (tensors that require grad).

    ``inputs``: only these tensors receive gradients. ``capture``: return the gradients of ``inputs`` (a list,
    None where nothing flowed) instead of accumulating into ``.grad`` (autograd.grad).
    """
    buffers: dict[Node, list] = {}
    start = []
    for tensor, grad in zip(roots, root_grads):
        node, nr = _edge(tensor)
        start.append(node)
        _add_to(buffers, node, nr, grad)

    targets: dict[tuple, list[int]] = {}  # (id(node), output_nr) -> positions in ``inputs``
    runs = None  # every node runs
    if inputs is None:
        dependencies = _count_dependencies(start)
    else:
        target_nodes = set()  # held here: a leaf's AccumulateGrad lives only while referenced
        for position, tensor in enumerate(inputs):
            node, nr = _edge(tensor)
            target_nodes.add(node)
            targets.setdefault((id(node), nr), []).append(position)
        runs, dependencies, everyone = _plan(start, target_nodes, capture)
    queued = None  # with ``inputs``: torch queues only the nodes that run or capture (and a lone root)
    if runs is not None and not everyone:
        queued = runs | target_nodes
    ready: list = []
    # ``sole``: a node that became ready while nothing else was, with its gradients ``sole_grads``; it is the next
    # to run, so it waits here rather than in the heap and the buffers (a chain of nodes never touches either). A
    # second ready node pushes it first, then itself: the heap sees the same pushes in the same order, so the
    # order of the walk is unchanged.
    sole = sole_grads = None
    if len(start) == 1:  # one root: nothing points at it, it runs first
        sole = start[0]
        sole_grads = buffers.pop(sole)
    else:
        for n in dict.fromkeys(start):  # torch's GraphRoot pushes the roots in order
            if dependencies.get(n, 0) == 0 and (queued is None or n in queued):
                _push(ready, (_priority(n), n))
    captured = [None] * len(inputs) if capture else None
    pop, push = _pop, _push
    selective = runs is not None or capture  # autograd.grad / backward(inputs=...): the per-node checks below
    masked = []  # nodes given a needs_input_grad mask (queued), cleared when the walk ends, even by an error

    saved_mode = _grad_mode.mode  # (enabled, inference); set_grad_enabled(create_graph), inlined
    _grad_mode.enabled = enabled = bool(create_graph)
    _grad_mode.mode = (enabled, saved_mode[1])
    try:
        while True:
            if sole is not None:
                node, grads, sole, sole_grads = sole, sole_grads, None, None
            elif ready:
                node = (ready.pop() if len(ready) == 1 else pop(ready))[1]
                grads = buffers.pop(node, None) or []
            else:
                break
            hooked = node._hooked
            if selective:
                if runs is not None and node not in runs:  # torch: a queued node that need not run gets its
                    if hooked:  # tensor hooks and retain_grad only (not its pre-hooks), then its gradient is captured
                        grads = _run_tensor_hooks(node, grads)
                        for nr, tensor in node._retain_grad_hooks.items():
                            if nr < len(grads) and grads[nr] is not None:
                                _retain(tensor, grads[nr])
                    if capture and node in target_nodes:
                        for nr, g in enumerate(grads):
                            for position in targets.get((id(node), nr), ()):
                                captured[position] = g
                    continue
                if capture and node in target_nodes:  # a node that runs is captured before its hooks (torch)
                    for nr, g in enumerate(grads):
                        for position in targets.get((id(node), nr), ()):
                            captured[position] = g
            if hooked and (node._tensor_pre_hooks or node._retain_grad_hooks or node._pre_hooks):
                grads = _run_pre_hooks(node, grads)
            if type(node) is AccumulateGrad:
                variable = node.variable
                if grads and grads[0] is not None:
                    if variable._base is not None or variable._grad_fn is not None:  # (a plain leaf passes)
                        _check_still_leaf(variable)
                    if variable._requires_grad or variable.requires_grad:  # torch: nothing accumulates after
                        # requires_grad_(False),
                        grad, grads, g, input_grads, data, slots = grads[0], None, None, (), None, None  # the
                        # loop's references dropped
                        if not create_graph and variable._grad is None and _sole(grad, variable):
                            variable._grad = grad  # nobody else can see it: stored as is, as torch steals it
                        else:
                            _accumulate(variable, grad, create_graph)
                        grad = None
                    if variable._post_accumulate_hooks:  # but the post-accumulate hooks still run
                        _run_post_accumulate_hooks(variable)
                continue
            next_functions = node.next_functions
            if queued is not None:  # torch's VJPs compute only the gradients whose node will run or capture
                for child, _ in next_functions:  # (needs_input_grad: an edge outside them is not needed)
                    if child is not None and child not in queued:
                        node._needed = tuple([child is not None and child in queued for child, _ in next_functions])
                        masked.append(node)
                        break
            plain = node._plain
            saved_map = node._saved
            if plain and len(grads) == 1 and grads[0] is not None and len(node._output_meta) == 1:
                # Node.apply's common case inlined: every saved tensor unpacks (a stale one raises), then the VJP
                for saved in saved_map.values():
                    tensor = saved.tensor
                    if tensor is None:
                        if saved.data is None or saved.vc.value != saved.version:
                            saved.unpack(node)  # raises torch's error
                    elif tensor._grad_fn is None and saved.grad_fn is not None:  # a non-leaf input detached
                        raise RuntimeError(ERR_DETACHED)  # in place (torch's unpack inside apply; not Python's)
                    elif tensor._vc is not None and tensor._vc.value != saved.version:
                        saved.unpack(node)  # raises torch's error
                input_grads = node._vjp(node, grads[0])
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                ran = True
            else:
                ran = False
                input_grads = ()
                for g in grads:
                    if g is not None:
                        input_grads = node.apply(grads)
                        ran = True
                        break
            if queued is not None and ran and len(input_grads) == len(next_functions):
                # torch computes only the outputs whose node will run or capture (seen by post hooks)
                for child, _ in next_functions:
                    if child is not None and child not in queued:
                        input_grads = tuple(g if child in queued else None
                                            for g, (child, _) in zip(input_grads, next_functions))
                        break
            if hooked and ran and node._post_hooks:
                input_grads = _validated(node, input_grads, next_functions)
                for hook in list(node._post_hooks.values()):
                    replaced = hook(input_grads, tuple(grads))
                    if replaced is not None:
                        input_grads = tuple(replaced)
            if not retain_graph:
                if plain:  # Node.release inlined
                    for saved in saved_map.values():
                        saved.tensor = saved.data = None
                else:
                    node.release()
            n_grads = len(input_grads)
            meta = node._input_meta
            for i, (child, nr) in enumerate(next_functions):
                if child is None:
                    continue
                g = input_grads[i] if i < n_grads else None
                if g is not None:
                    shape, dtype = meta[i]
                    data = g._data
                    if data.shape != shape or data.dtype is not dtype.numpy:
                        g = _validate(node, i, g)  # torch's validate_outputs: reduce and cast, or raise
                remaining = dependencies[child] - 1
                if remaining:  # more gradients to come: into the child's buffer
                    dependencies[child] = remaining
                    if g is not None:
                        _add_to(buffers, child, nr, g)
                    continue
                # the child's last gradient: it is ready (its count stays at 1, it is never decremented again)
                slots = buffers.pop(child, None)
                if slots is None:
                    slots = [] if g is None else [g] if nr == 0 else _slots(nr, g)
                elif g is not None:
                    _add_to_slots(slots, nr, g)
                if queued is not None and child not in queued:
                    continue
                if ready or sole is not None:
                    if sole is not None:
                        buffers[sole] = sole_grads
                        item = (_LAST if type(sole) is AccumulateGrad else sole._sequence_nr, sole)
                        if ready:
                            push(ready, item)
                        else:  # _push onto an empty heap
                            ready.append(item)
                        sole = sole_grads = None
                    buffers[child] = slots
                    push(ready, (_LAST if type(child) is AccumulateGrad else child._sequence_nr, child))
                else:
                    sole, sole_grads = child, slots
    finally:
        _grad_mode.enabled, _grad_mode.inference = _grad_mode.mode = saved_mode
        for node in masked:  # (a later backward through a retained graph decides again)
            node._needed = None
    return captured


def _check_still_leaf(variable) -> None:
    """torch's AccumulateGrad reads its leaf's grad_fn before accumulating: a view whose base (or another view)
    was written in place since is re-checked there (a view made under no_grad or inference_mode raises
    creation_meta.py's refusal), and a leaf that has gained a node since raises."""
    if variable.grad_fn is not None:
        raise RuntimeError("leaf variable has been moved into the graph interior")


_LAST = sys.maxsize  # torch gives AccumulateGrad the largest sequence number: it runs as soon as it is ready


def _priority(node: Node) -> int:
    return _LAST if type(node) is AccumulateGrad else node._sequence_nr


def _push(heap: list, item: tuple) -> None:
    """std::push_heap on a max-heap of (priority, node): the new item rises past strictly smaller parents only."""
    heap.append(item)
    _sift_up(heap, len(heap) - 1, item)


def _sift_up(heap: list, hole: int, item: tuple) -> None:
    """libstdc++'s __push_heap: ``item`` rises from ``hole`` past strictly smaller parents."""
    key = item[0]
    while hole:
        parent = (hole - 1) >> 1
        if not heap[parent][0] < key:
            break
        heap[hole] = heap[parent]
        hole = parent
    heap[hole] = item


def _pop(heap: list) -> tuple:
    """std::pop_heap + pop_back (libstdc++'s __adjust_heap: the hole goes down to a leaf, taking the right child
    unless it is strictly smaller than the left one, then the last item rises from there)."""
    top = heap[0]
    last = heap.pop()
    n = len(heap)
    if n:
        hole = child = 0
        while child < (n - 1) >> 1:
            child = 2 * (child + 1)
            if heap[child][0] < heap[child - 1][0]:
                child -= 1
            heap[hole] = heap[child]
            hole = child
        if not n & 1 and child == (n - 2) >> 1:
            child = 2 * (child + 1)
            heap[hole] = heap[child - 1]
            hole = child - 1
        _sift_up(heap, hole, last)
    return top


def _validated(node: Node, grads: tuple, next_functions: tuple) -> tuple:
    """The VJP's gradients, None where the input needs none, each checked against its input (_validate)."""
    meta = node._input_meta
    out = []
    for i, g in enumerate(grads):
        if g is None or next_functions[i][0] is None:
            out.append(None)
        else:
            shape, dtype = meta[i]
            data = g._data
            out.append(g if data.shape == shape and data.dtype == dtype.numpy else _validate(node, i, g))
    return tuple(out)


def _edge(tensor):
    fn = tensor._grad_fn if tensor._base is None else tensor.grad_fn  # (a view's node may need regenerating)
    if fn is not None:
        return fn, tensor._output_nr
    return tensor._grad_accumulator(), 0


def _add_to(buffers: dict, node: Node, nr: int, grad) -> None:
    """Add ``grad`` to the gradient of output ``nr`` of ``node`` in its buffer."""
    slots = buffers.get(node)
    if slots is None:
        buffers[node] = [grad] if nr == 0 else _slots(nr, grad)
    else:
        _add_to_slots(slots, nr, grad)


def _slots(nr: int, grad) -> list:
    """A buffer whose output ``nr`` holds ``grad`` (None before it)."""
    return [None] * nr + [grad]


def _add_to_slots(slots: list, nr: int, grad) -> None:
    while len(slots) <= nr:
        slots.append(None)
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad


def _run_tensor_hooks(node: Node, grads: list) -> list:
    """The hooks registered on the node's output tensors (Tensor.register_hook), per output."""
    for nr, hooks in node._tensor_pre_hooks.items():
        if nr < len(grads) and grads[nr] is not None:
            for hook in list(hooks.values()):
                replaced = hook(grads[nr])
                if replaced is not None:
                    grads[nr] = replaced
    return grads


def _run_pre_hooks(node: Node, grads: list) -> list:
    """Tensor hooks (per output), then retain_grad, then node pre-hooks — torch's order."""
    if not (node._tensor_pre_hooks or node._retain_grad_hooks or node._pre_hooks):
        return grads
    grads = _run_tensor_hooks(node, grads)
    for nr, tensor in node._retain_grad_hooks.items():
        if nr < len(grads) and grads[nr] is not None:
            _retain(tensor, grads[nr])
    for hook in list(node._pre_hooks.values()):
        replaced = hook(tuple(grads))
        if replaced is not None:
            grads = list(replaced)
    return grads
