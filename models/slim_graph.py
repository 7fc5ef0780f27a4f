"""Graph surgery around INT8 quantisation of FSMN-VAD, so onnxruntime runs fewer, fused nodes.

build_int8.py calls both steps; by hand:

    python models/slim_graph.py merge FP32.onnx MERGED.onnx    # before quantize_static
    python models/slim_graph.py slim QUANTISED.onnx OUT.onnx   # after it

Why: streaming calls the network on ~10 frames at a time, where onnxruntime's cost per node,
not arithmetic, dominates. The graph quantize_static writes has 90 nodes, and onnxruntime's
own optimiser turns it into 97 (it moves Q/DQ pairs through the Unsqueeze/Transpose of every
FSMN memory block and wraps each QLinearConv in NCHW<->NHWC Transposes).

``merge_linear_pairs`` (FP32, before quantisation): ``in_linear1 -> in_linear2`` and
``out_linear1 -> out_linear2`` have nothing between them, so each pair is one linear map
(W1 @ W2, b1 @ W2 + b2, computed in float64). The FP32 function is unchanged (p0 within
5e-6); quantised, it is one int8 layer and one rounding instead of two.

``slim`` (after quantisation) rewrites the quantised merged graph into 54 nodes that
onnxruntime runs as they are:

- every linear layer is one ``com.microsoft.QGemm`` on (T, C) rows: uint8 activations, the
  same per-channel int8 weights and scales, the float bias as int32 at scale
  ``a_scale * b_scale``, output requantised once. quantize_static's graph instead rounds the
  product to uint8 (``MatMul_output_0`` scale), dequantises, adds the float bias and
  quantises again; that extra rounding goes (the scores get slightly *closer* to FP32, see
  models/README.md). A Relu whose quantiser has zero point 0 is the clamp at 0 of the
  output's uint8 range, as onnxruntime already runs it. The last layer returns float logits
  for the float Softmax.
- each FSMN memory block runs channels-last (NHWC = the (T, 128) rows the QGemm writes): the
  float cache (1, 128, 19, 1) is transposed to (1, 19, 1, 128), concatenated with the
  dequantised frames, its last 19 rows transposed back as ``out_cache``; the concatenation is
  quantised at the same scale as before and convolved by an NHWC ``com.microsoft.QLinearConv``
  (same depthwise int8 kernel), then added to the block input by ``QLinearAdd`` at the same
  scales onnxruntime used for that Add.

Inputs and outputs keep their names, order, shapes and meaning (``logits`` (1, T, 248) after
the softmax, ``out_cache0..3``), so funasr_onnx's ``Fsmn_vad``/``Fsmn_vad_online`` run the
file as before. Every scale, zero point and weight comes from the quantised graph; nothing is
re-calibrated.
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
        domain = MS if op_type in ("QGemm", "QLinearConv", "QLinearAdd") else ""
        self.nodes.append(
            helper.make_node(op_type, inputs, [output], name=output, domain=domain, **attrs)
        )
        return output

    def qgemm(
        self,
        out: str,
        a: tuple[str, str, str],
        matmul: str,
        bias: str | None,
        y: tuple[str, str] | None,
    ) -> str:
        """One QLinearMatMul [+ DequantizeLinear + float bias Add + QuantizeLinear] as a QGemm."""
        qmm = self.node(matmul, "QLinearMatMul")
        b, b_scale, b_zero = (self.keep(n) for n in qmm.input[3:6])
        inputs = [*a, b, b_scale, b_zero]
        if bias is None:
            inputs.append("")
        else:
            # QGemm's C is int32 at scale a_scale * b_scale (per output column), zero point 0.
            scale = np.float64(self.inits[a[1]]) * self.inits[b_scale].astype(np.float64)
            q = np.rint(self.inits[bias].astype(np.float64) / scale)
            if np.any(np.abs(q) >= 2**31):
                raise UnexpectedGraphError(f"bias {bias!r} does not fit int32 at its scale")
            inputs.append(self.const(f"{bias}_int32", q.astype(np.int32)))
        if y is not None:
            inputs += list(y)
        return self.add("QGemm", inputs, out)

    def relu_scale(self, prefix: str) -> tuple[str, str]:
        """Scale/zero point after a Relu; zero point 0, so the uint8 clamp is the Relu."""
        scale = self.keep(f"{prefix}relu/relu/Relu_output_0_scale")
        zero = self.keep(f"{prefix}relu/relu/Relu_output_0_zero_point")
        if int(self.inits[zero]) != 0:
            raise UnexpectedGraphError(f"{zero} is not 0: the Relu cannot be folded")
        return scale, zero

    # -- the network -------------------------------------------------------------------------
    def build(self) -> onnx.ModelProto:
        for layer in ("in_linear1", "out_linear1"):
            if f"{E}{layer}/linear/MatMul_quant" in self.by_name:
                raise UnexpectedGraphError(
                    f"{layer} is still a layer of its own: quantise merge_linear_pairs' graph"
                )
        quant = self.node("speech_QuantizeLinear", "QuantizeLinear")
        s_in, z_in = self.keep(quant.input[1]), self.keep(quant.input[2])
        # Quantise first, then reshape the uint8 rows (tests/test_fidelity.py reads the input
        # quantiser as the QuantizeLinear on "speech").
        self.add("QuantizeLinear", ["speech", s_in, z_in], "speech_quantized")
        rows = self.const("rows_400", np.array([-1, INPUT_DIM], np.int64))
        x = self.add("Reshape", ["speech_quantized", rows], "speech_rows")

        relu = self.relu_scale(E)
        x = self.qgemm(
            "in_linear_relu",
            (x, s_in, z_in),
            f"{E}in_linear2/linear/MatMul_quant",
            "encoder.in_linear2.linear.bias",
            relu,
        )
        prev = relu
        nhwc = self.const("nhwc_shape", np.array([1, -1, 1, PROJ_DIM], np.int64))
        rows_proj = self.const("rows_128", np.array([-1, PROJ_DIM], np.int64))
        tail_start = self.const("tail_start", np.array([-CACHE_FRAMES], np.int64))
        tail_end = self.const("tail_end", np.array([np.iinfo(np.int64).max], np.int64))
        time_axis = self.const("time_axis", np.array([1], np.int64))
        for i in range(NUM_BLOCKS):
            f = f"{E}fsmn.{i}/"
            lin = (
                self.keep(f"{f}linear/linear/MatMul_output_0_scale"),
                self.keep(f"{f}linear/linear/MatMul_output_0_zero_point"),
            )
            proj = self.qgemm(
                f"fsmn{i}_linear", (x, *prev), f"{f}linear/linear/MatMul_quant", None, lin
            )
            proj4 = self.add("Reshape", [proj, nhwc], f"fsmn{i}_nhwc")
            frames = self.add("DequantizeLinear", [proj4, *lin], f"fsmn{i}_frames")
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
            summed = (
                self.keep(f"{f}fsmn_block/Squeeze_output_0_scale"),
                self.keep(f"{f}fsmn_block/Squeeze_output_0_zero_point"),
            )
            total = self.add(
                "QLinearAdd", [proj4, *lin, memory, s_conv, z_conv, *summed], f"fsmn{i}_sum"
            )
            total = self.add("Reshape", [total, rows_proj], f"fsmn{i}_sum_rows")
            relu = self.relu_scale(f)
            x = self.qgemm(
                f"fsmn{i}_affine_relu",
                (total, *summed),
                f"{f}affine/linear/MatMul_quant",
                f"encoder.fsmn.{i}.affine.linear.bias",
                relu,
            )
            prev = relu

        x = self.qgemm(
            "out_linear",
            (x, *prev),
            f"{E}out_linear2/linear/MatMul_quant",
            "encoder.out_linear2.linear.bias",
            None,
        )
        probs = self.add("Softmax", [x], "softmax", axis=-1)
        out_shape = self.const("logits_shape", np.array([1, -1, OUTPUT_DIM], np.int64))
        self.add("Reshape", [probs, out_shape], "logits")
        return self._model()

    def _model(self) -> onnx.ModelProto:
        g = self.src.graph
        outputs = [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "T", OUTPUT_DIM])
        ] + [
            helper.make_tensor_value_info(
                f"out_cache{i}", TensorProto.FLOAT, [1, PROJ_DIM, CACHE_FRAMES, 1]
            )
            for i in range(NUM_BLOCKS)
        ]
        if [i.name for i in g.input] != ["speech"] + [f"in_cache{i}" for i in range(4)]:
            raise UnexpectedGraphError(f"unexpected inputs {[i.name for i in g.input]}")
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


# (first layer, second layer): FP32 MatMul weight and bias initialisers of each.
_PAIRS: Final = (
    (
        ("in_linear1", "onnx::MatMul_147", "encoder.in_linear1.linear.bias"),
        ("in_linear2", "onnx::MatMul_148", "encoder.in_linear2.linear.bias"),
    ),
    (
        ("out_linear1", "onnx::MatMul_173", "encoder.out_linear1.linear.bias"),
        ("out_linear2", "onnx::MatMul_174", "encoder.out_linear2.linear.bias"),
    ),
)


def merge_linear_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The FP32 model with each pair of back-to-back linear layers merged into the second.

    The second layer keeps its node, weight and bias names (so the quantised names are the
    ones ``slim`` expects); the first layer's MatMul and Add are removed.
    """
    merged = onnx.ModelProto()
    merged.CopyFrom(model)
    graph = merged.graph
    inits = {i.name: i for i in graph.initializer}
    nodes = {n.name: n for n in graph.node}
    drop: set[str] = set()
    for (first, w1, b1), (second, w2, b2) in _PAIRS:
        mm1, add1, mm2 = (
            nodes.get(f"{E}{n}")
            for n in (f"{first}/linear/MatMul", f"{first}/linear/Add", f"{second}/linear/MatMul")
        )
        if mm1 is None or add1 is None or mm2 is None or mm2.input[0] != add1.output[0]:
            raise UnexpectedGraphError(f"{first} -> {second} is not a MatMul+Add -> MatMul chain")
        if list(mm1.input) != [mm1.input[0], w1] or mm2.input[1] != w2 or b1 not in add1.input:
            raise UnexpectedGraphError(f"{first}/{second}: unexpected weight or bias names")
        a1, a2 = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in (w1, w2))
        c1, c2 = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in (b1, b2))
        inits[w2].CopyFrom(numpy_helper.from_array((a1 @ a2).astype(np.float32), w2))
        inits[b2].CopyFrom(numpy_helper.from_array((c1 @ a2 + c2).astype(np.float32), b2))
        mm2.input[0] = mm1.input[0]
        drop |= {mm1.name, add1.name}
        for name in (w1, b1):
            graph.initializer.remove(inits[name])
    kept = [n for n in graph.node if n.name not in drop]
    del graph.node[:]
    graph.node.extend(kept)
    onnx.checker.check_model(merged)
    return merged


def merge_linear_pairs(src: Path, dst: Path) -> None:
    """``merge_linear_model`` from file to file."""
    onnx.save(merge_linear_model(onnx.load(str(src))), str(dst))


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
    if len(sys.argv) != 4 or sys.argv[1] not in ("merge", "slim"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "merge":
        merge_linear_pairs(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        print(f"{slim(Path(sys.argv[2]), Path(sys.argv[3]))} nodes")
