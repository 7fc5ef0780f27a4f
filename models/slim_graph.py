"""Graph surgery after INT8 quantisation of FSMN-VAD: fewer nodes, the same numbers.

build_int8.py calls it as its last step; by hand:

    python models/slim_graph.py QUANTISED.onnx OUT.onnx

Why: streaming calls the network on ~10 frames at a time, where onnxruntime's cost per node,
not arithmetic, dominates. The QOperator graph quantize_static writes has 90 nodes, and
onnxruntime's optimiser (ORT_ENABLE_ALL, what vaddesk and funasr_onnx use) runs it as 97: it
drops each Relu into the uint8 clamp of the QuantizeLinear after it (zero point 0), moves Q/DQ
pairs through the Unsqueeze/Transpose/Squeeze of every FSMN memory block, fuses each block's
residual DQ -> Add -> Q into a ``QLinearAdd``, and wraps each ``QLinearConv`` in
NCHW<->NHWC Transposes to run it channels-last.

``slim`` writes the arithmetic that onnxruntime runs, without the data movement around it
(71 nodes, which onnxruntime's optimiser leaves as they are):

- activations are (1, T, 1, C) from the start (one Reshape of the quantised input, one of
  the float logits before the Softmax): a row layout that is already NHWC for the memory
  convolutions. Every linear layer stays quantize_static's ``QLinearMatMul ->
  DequantizeLinear -> Add(float bias) -> QuantizeLinear`` (two roundings, as before); a Relu
  is dropped only where its QuantizeLinear has zero point 0, i.e. where onnxruntime drops it.
- each FSMN memory block: the float cache (1, 128, 19, 1) is transposed to (1, 19, 1, 128)
  and concatenated with the dequantised frames; the last 19 rows, transposed back, are
  ``out_cache`` (the same floats); the concatenation is quantised at its calibrated scale and
  convolved by the ``com.microsoft.QLinearConv`` (channels-last) onnxruntime already ran;
  the residual is the ``QLinearAdd`` onnxruntime fused, on the uint8 projection itself (its
  Q(DQ(x)) round trip at one scale is x).

Nothing is re-quantised, merged or re-calibrated: every weight, scale and zero point is the
quantised graph's. What is removed only moves or re-reads values (Transpose, Unsqueeze,
Squeeze, Q/DQ at one scale), so p0 and the caches are bit for bit those of the input file as
onnxruntime runs it (tests/core/test_model.py; models/README.md has the corpus check).
Inputs and outputs keep their names, order, shapes and meaning, so funasr_onnx's
``Fsmn_vad``/``Fsmn_vad_online`` run the file as before.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NUM_BLOCKS: Final = 4
PROJ_DIM: Final = 128
LORDER: Final = 20  # FSMN memory taps: 19 cached frames + the current one
CACHE_FRAMES: Final = LORDER - 1
INPUT_DIM: Final = 400
OUTPUT_DIM: Final = 248
MS: Final = "com.microsoft"
E: Final = "/encoder/"


class UnexpectedGraphError(ValueError):
    """The quantised graph is not the FSMN-VAD QOperator graph this rewrite knows."""


class _Rewriter:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.src = model
        self.inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.by_name = {n.name: n for n in model.graph.node}
        self.nodes: list[onnx.NodeProto] = []
        self.out_inits: dict[str, np.ndarray] = {}

    # -- helpers -----------------------------------------------------------------------------
    def node(self, name: str, op_type: str) -> onnx.NodeProto:
        node = self.by_name.get(name)
        if node is None or node.op_type != op_type:
            raise UnexpectedGraphError(
                f"expected a {op_type} node named {name!r} in the quantised graph "
                "(did the FP32 model or quantize_static's naming change?)"
            )
        return node

    def keep(self, name: str) -> str:
        """Carry an initialiser of the quantised graph over unchanged."""
        if name not in self.inits:
            raise UnexpectedGraphError(f"initialiser {name!r} is missing")
        self.out_inits[name] = self.inits[name]
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        self.out_inits[name] = value
        return name

    def add(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        domain = MS if op_type in ("QLinearConv", "QLinearAdd") else ""
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=output, domain=domain, **attrs)
        )
        return output

    def linear(self, x: str, layer: str, *, relu: str | None, quantise: bool = True) -> str:
        """quantize_static's QLinearMatMul -> DequantizeLinear -> Add(bias) [-> Relu]
        -> QuantizeLinear of ``layer``, its nodes and initialisers unchanged, on input ``x``.

        ``relu``: the prefix of the layer's Relu; it is dropped, as onnxruntime drops it, when
        its QuantizeLinear has zero point 0 (the uint8 clamp at 0 is the Relu, bit for bit).
        ``quantise=False``: the last layer, whose float output feeds the Softmax.
        """
        qmm = self.node(f"{E}{layer}/linear/MatMul_quant", "QLinearMatMul")
        for name in qmm.input[1:]:
            self.keep(name)
        y = self.add("QLinearMatMul", [x, *qmm.input[1:]], qmm.output[0])
        deq = self.node(f"{E}{layer}/linear/MatMul_output_0_DequantizeLinear", "DequantizeLinear")
        if list(deq.input[:1]) != [y]:
            raise UnexpectedGraphError(f"{deq.name} does not read {y}")
        y = self.add(
            "DequantizeLinear", [y, self.keep(deq.input[1]), self.keep(deq.input[2])], deq.output[0]
        )
        bias_add = self.node(f"{E}{layer}/linear/Add", "Add")
        bias = [n for n in bias_add.input if n != y]
        if len(bias) != 1 or bias[0] not in self.inits:
            raise UnexpectedGraphError(f"{bias_add.name} is not a float bias Add")
        y = self.add("Add", [self.keep(bias[0]), y], bias_add.output[0])
        if not quantise:
            return y
        q_name = f"{E}{layer}/linear/Add_output_0_QuantizeLinear"
        if relu is not None:
            self.node(f"{relu}relu/relu/Relu", "Relu")
            q_name = f"{relu}relu/relu/Relu_output_0_QuantizeLinear"
        quant = self.node(q_name, "QuantizeLinear")
        scale, zero = self.keep(quant.input[1]), self.keep(quant.input[2])
        if relu is not None and int(self.inits[zero]) != 0:
            raise UnexpectedGraphError(f"{zero} is not 0: the Relu cannot be dropped")
        return self.add("QuantizeLinear", [y, scale, zero], quant.output[0])

    # -- the network -------------------------------------------------------------------------
    def build(self) -> onnx.ModelProto:
        quant = self.node("speech_QuantizeLinear", "QuantizeLinear")
        s_in, z_in = self.keep(quant.input[1]), self.keep(quant.input[2])
        # Quantise first (tests/core/test_fidelity.py reads the input quantiser as the
        # QuantizeLinear on "speech"), then view the uint8 rows as (1, T, 1, 400).
        q = self.add("QuantizeLinear", ["speech", s_in, z_in], quant.output[0])
        rows = self.const("nhwc_400", np.array([1, -1, 1, INPUT_DIM], np.int64))
        x = self.add("Reshape", [q, rows], "speech_nhwc")
        x = self.linear(x, "in_linear1", relu=None)
        x = self.linear(x, "in_linear2", relu=E)

        tail_start = self.const("tail_start", np.array([-CACHE_FRAMES], np.int64))
        tail_end = self.const("tail_end", np.array([np.iinfo(np.int64).max], np.int64))
        time_axis = self.const("time_axis", np.array([1], np.int64))
        for i in range(NUM_BLOCKS):
            f = f"{E}fsmn.{i}/"
            qmm = self.node(f"{f}linear/linear/MatMul_quant", "QLinearMatMul")
            for name in qmm.input[1:]:
                self.keep(name)
            proj = self.add("QLinearMatMul", [x, *qmm.input[1:]], qmm.output[0])
            lin = (qmm.input[6], qmm.input[7])  # the projection's scale and zero point
            frames = self.add("DequantizeLinear", [proj, *lin], f"fsmn{i}_frames")
            cache = self.add(
                "Transpose", [f"in_cache{i}"], f"fsmn{i}_cache_nhwc", perm=[0, 2, 3, 1]
            )
            cat = self.add("Concat", [cache, frames], f"fsmn{i}_concat", axis=1)
            tail = self.add("Slice", [cat, tail_start, tail_end, time_axis], f"fsmn{i}_tail")
            self.add("Transpose", [tail], f"out_cache{i}", perm=[0, 3, 1, 2])

            conv = self.node(f"{f}fsmn_block/conv_left/Conv_quant", "QLinearConv")
            attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
            if attrs.get("group") != PROJ_DIM or list(attrs.get("kernel_shape", [])) != [LORDER, 1]:
                raise UnexpectedGraphError(f"{conv.name}: not a depthwise ({LORDER}, 1) conv")
            s_cat, z_cat = self.keep(conv.input[1]), self.keep(conv.input[2])
            cat_q = self.add("QuantizeLinear", [cat, s_cat, z_cat], f"fsmn{i}_concat_quantized")
            w, w_scale, w_zero = (self.keep(n) for n in conv.input[3:6])
            s_conv, z_conv = self.keep(conv.input[6]), self.keep(conv.input[7])
            memory = self.add(
                "QLinearConv",
                [cat_q, s_cat, z_cat, w, w_scale, w_zero, s_conv, z_conv],
                f"fsmn{i}_memory",
                channels_last=1,
                group=PROJ_DIM,
                kernel_shape=[LORDER, 1],
                pads=[0, 0, 0, 0],
                strides=[1, 1],
                dilations=[1, 1],
            )
            # The float residual Add's output quantiser (after the Transpose and Squeeze).
            summed_q = self.node(f"{f}fsmn_block/Squeeze_output_0_QuantizeLinear", "QuantizeLinear")
            summed = (self.keep(summed_q.input[1]), self.keep(summed_q.input[2]))
            x = self.add(
                "QLinearAdd", [proj, *lin, memory, s_conv, z_conv, *summed], summed_q.output[0]
            )
            x = self.linear(x, f"fsmn.{i}/affine", relu=f)

        x = self.linear(x, "out_linear1", relu=None)
        x = self.linear(x, "out_linear2", relu=None, quantise=False)
        out_shape = self.const("logits_shape", np.array([1, -1, OUTPUT_DIM], np.int64))
        x = self.add("Reshape", [x, out_shape], "logits_rows")
        self.node(f"{E}softmax/Softmax", "Softmax")
        self.add("Softmax", [x], "logits", axis=-1)
        return self._model()

    def _model(self) -> onnx.ModelProto:
        g = self.src.graph
        if [i.name for i in g.input] != ["speech"] + [f"in_cache{i}" for i in range(4)]:
            raise UnexpectedGraphError(f"unexpected inputs {[i.name for i in g.input]}")
        outputs = [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "T", OUTPUT_DIM])
        ] + [
            helper.make_tensor_value_info(
                f"out_cache{i}", TensorProto.FLOAT, [1, PROJ_DIM, CACHE_FRAMES, 1]
            )
            for i in range(NUM_BLOCKS)
        ]
        graph = helper.make_graph(
            self.nodes,
            "fsmn_vad_int8",
            list(g.input),
            outputs,
            initializer=[numpy_helper.from_array(v, k) for k, v in self.out_inits.items()],
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid(MS, 1)],
            producer_name="vaddesk models/slim_graph.py",
            doc_string="FSMN-VAD (FunASR), static INT8; built by models/build_int8.py",
        )
        model.ir_version = self.src.ir_version
        onnx.checker.check_model(model)
        return model


def slim_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The rewritten model (see the module docstring)."""
    return _Rewriter(model).build()


def slim(src: Path, dst: Path) -> int:
    """Rewrite the quantised model at ``src`` into ``dst``; return the number of nodes."""
    model = slim_model(onnx.load(str(src)))
    tmp = dst.with_suffix(".onnx.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)
    return len(model.graph.node)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    print(f"{slim(Path(sys.argv[1]), Path(sys.argv[2]))} nodes")
