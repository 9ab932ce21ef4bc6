"""The jvp and func properties: an engine without forward mode gets one "unsupported" record, not a divergence per
op (refgrad itself runs both properties over every spec in CI, from conformance/properties)."""
import types

import pytest

from conformance.engines import Engine, load_engine
from conformance.harness import Session
from conformance.properties import skip_unsupported
from conformance.records import Recorder

refgrad = pytest.importorskip("refgrad", reason="refgrad is the default engine")


def without_forward_mode() -> Engine:
    """refgrad with ``autograd.forward_ad`` and ``func`` hidden."""
    autograd = types.SimpleNamespace(**{k: v for k, v in vars(refgrad.autograd).items() if k != "forward_ad"})
    module = types.SimpleNamespace(**{k: v for k, v in vars(refgrad).items() if k not in ("func", "autograd")},
                                   autograd=autograd)
    return Engine("no_forward_mode", module, "0")


@pytest.mark.parametrize("prop, needs", [("jvp", ("autograd.forward_ad",)), ("func", ("func.jacfwd",))])
def test_an_engine_without_forward_mode_gets_one_unsupported_record(prop, needs):
    session = Session(engine=without_forward_mode(), recorder=Recorder())
    for _ in range(3):  # three cells: still one record
        with pytest.raises(pytest.skip.Exception, match=f"{prop}: engine no_forward_mode does not support it"):
            skip_unsupported(session, prop, needs)
    assert [(r["op"], r["property"], r["status"]) for r in session.recorder.summaries] == [("*", prop, "unsupported")]
    skip_unsupported(Session(engine=load_engine("refgrad")), prop, needs)  # refgrad has it: no skip
