"""Recurrent layers: RNNCell, LSTMCell, GRUCell and the multi-layer RNN, LSTM, GRU (torch.nn), written in refgrad
ops with torch's gate order (LSTM: i, f, g, o; GRU: r, z, n), parameter names and U(±1/√hidden) initialisation."""
from __future__ import annotations

import math

from refgrad import factories
from refgrad.nn import functional as F
from refgrad.nn import init
from refgrad.nn.modules.module import Module
from refgrad.nn.parameter import Parameter
from refgrad.tensor import Tensor

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    return F.linear(x, weight, bias)


def _rnn_step(mode: str, x: Tensor, state, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One time step of ``mode`` for a batch; ``state`` is h, or (h, c) for LSTM. Returns the new state."""
    if mode == "LSTM":
        h, c = state
        gates = _affine(x, w_ih, b_ih) + _affine(h, w_hh, b_hh)
        i, f, g, o = gates.chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        if w_hr is not None:
            h = F.linear(h, w_hr)
        return h, c
    if mode == "GRU":
        h = state
        r_i, z_i, n_i = _affine(x, w_ih, b_ih).chunk(3, -1)
        r_h, z_h, n_h = _affine(h, w_hh, b_hh).chunk(3, -1)
        r = (r_i + r_h).sigmoid()
        z = (z_i + z_h).sigmoid()
        n = (n_i + r * n_h).tanh()
        return (1 - z) * n + z * h
    pre = _affine(x, w_ih, b_ih) + _affine(state, w_hh, b_hh)
    return pre.tanh() if mode == "RNN_TANH" else pre.relu()


class _CellBase(Module):
    _mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = _GATES[self._mode] * hidden_size
        self.weight_ih = Parameter(factories.empty(gates, input_size, dtype=dtype))
        self.weight_hh = Parameter(factories.empty(gates, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(factories.empty(gates, dtype=dtype))
            self.bias_hh = Parameter(factories.empty(gates, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _zeros(self, input: Tensor) -> Tensor:
        batch = (input.shape[0],) if input.dim() == 2 else ()
        return factories.zeros(*batch, self.hidden_size, dtype=input.dtype)

    def _check(self, input: Tensor) -> bool:
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        return input.dim() == 2

    def _step(self, input: Tensor, state):
        return _rnn_step(self._mode, input, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class RNNCell(_CellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu) (torch.nn.RNNCell)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check(input)
        hx = self._zeros(input) if hx is None else hx
        return self._step(input, hx)


class LSTMCell(_CellBase):
    """(h', c') from gates i, f, g, o (torch.nn.LSTMCell)."""
    _mode = "LSTM"

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        self._check(input)
        if hx is None:
            hx = (self._zeros(input), self._zeros(input))
        return self._step(input, hx)


class GRUCell(_CellBase):
    """h' = (1 - z)·n + z·h from gates r, z, n (torch.nn.GRUCell)."""
    _mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check(input)
        hx = self._zeros(input) if hx is None else hx
        return self._step(input, hx)


class _RNNBase(Module):
    _mode = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and self._mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.batch_first, self.dropout, self.bidirectional, self.proj_size = batch_first, float(dropout), \
            bidirectional, proj_size
        gates = _GATES[self._mode] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else out_size * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gates, layer_input)), ("weight_hh", (gates, out_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(factories.empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    def _weights(self, layer: int, direction: int) -> list:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
        return [getattr(self, name + suffix) if hasattr(self, name + suffix) else None for name in names]

    def _run(self, input: Tensor, h0: Tensor, c0: Tensor | None):
        """input (L, N, H_in); h0/c0 (layers·directions, N, H). Returns output (L, N, D·H_out), h_n, c_n."""
        from refgrad import cat, stack
        directions = 2 if self.bidirectional else 1
        layer_input, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                state = (h0[index], c0[index]) if c0 is not None else h0[index]
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                steps = range(layer_input.shape[0])
                per_step = [None] * layer_input.shape[0]
                for t in (reversed(steps) if direction == 1 else steps):
                    state = _rnn_step(self._mode, layer_input[t], state, w_ih, w_hh, b_ih, b_hh, w_hr)
                    per_step[t] = state[0] if c0 is not None else state
                outputs.append(stack(per_step))
                if c0 is not None:
                    h_n.append(state[0])
                    c_n.append(state[1])
                else:
                    h_n.append(state)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_n), (stack(c_n) if c0 is not None else None)

    def _prepare(self, input: Tensor, hx, lstm: bool):
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        batch = input.shape[1]
        if hx is None:
            h0 = factories.zeros(self.num_layers * directions, batch, self.proj_size or self.hidden_size,
                                 dtype=input.dtype)
            c0 = factories.zeros(self.num_layers * directions, batch, self.hidden_size, dtype=input.dtype)
            hx = (h0, c0) if lstm else h0
        return input, hx, batched

    def _finish(self, output: Tensor, batched: bool) -> Tensor:
        if not batched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output


class RNN(_RNNBase):
    """Multi-layer Elman RNN with tanh or relu (torch.nn.RNN); returns (output, h_n)."""

    def __init__(self, *args, nonlinearity: str = "tanh", **kwargs) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(*args, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None):
        input, h0, batched = self._prepare(input, hx, lstm=False)
        output, h_n, _ = self._run(input, h0, None)
        return self._finish(output, batched), (h_n if batched else h_n.squeeze(1))


class GRU(_RNNBase):
    """Multi-layer GRU (torch.nn.GRU); returns (output, h_n)."""
    _mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None):
        input, h0, batched = self._prepare(input, hx, lstm=False)
        output, h_n, _ = self._run(input, h0, None)
        return self._finish(output, batched), (h_n if batched else h_n.squeeze(1))


class LSTM(_RNNBase):
    """Multi-layer LSTM, optionally with projections (torch.nn.LSTM); returns (output, (h_n, c_n))."""
    _mode = "LSTM"

    def forward(self, input: Tensor, hx: tuple | None = None):
        input, (h0, c0), batched = self._prepare(input, hx, lstm=True)
        output, h_n, c_n = self._run(input, h0, c0)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(output, batched), (h_n, c_n)
