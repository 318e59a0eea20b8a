"""ONNX export (input `feature` [B,T,80], output `embedding` [B,192]), metadata, checks, speed proxy.

ONNX Runtime is not available to Python here, so the exported graph is checked with onnx.checker and executed by
a small numpy reference interpreter (the ops this model uses) and compared against PyTorch.
"""
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

OPSET = 13


def export(model, path, meta, opset=OPSET):
    model.eval()
    dummy = torch.randn(2, 250, 80)
    torch.onnx.export(model, dummy, path, input_names=["feature"], output_names=["embedding"],
                      dynamic_axes={"feature": {0: "B", 1: "T"}, "embedding": {0: "B"}},
                      opset_version=opset, do_constant_folding=True)
    m = onnx.load(path)
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    # parity: numpy execution of the ONNX graph vs PyTorch, two shapes (dynamic B and T)
    for shape in [(1, 300, 80), (3, 137, 80)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            ref = model(x).numpy()
        got = run_onnx_numpy(m, x.numpy())
        err = float(np.abs(got - ref).max() / (np.abs(ref).max() + 1e-9))
        print(f"onnx(numpy ref) vs pytorch {shape}: max rel err {err:.2e}", flush=True)
        assert got.shape == ref.shape and err < 1e-4, err
    return m


@torch.no_grad()
def pytorch_speed(model, frames=300, reps=30):
    """Single-thread PyTorch forward time for one 3-s input (proxy for the C++ ONNX Runtime measurement)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    model.eval()
    x = torch.randn(1, frames, 80)
    for _ in range(5):
        model(x)
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        model(x)
        ts.append(time.perf_counter() - t)
    torch.set_num_threads(n)
    return float(np.median(ts) * 1000)


# --------------------------------------------------------------------------- numpy reference interpreter
def _conv1d(x, w, b, stride, pad, dil, group):
    assert group == 1
    bsz, cin, t = x.shape
    cout, _, k = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1])))
    tout = (x.shape[2] - dil * (k - 1) - 1) // stride + 1
    y = np.zeros((bsz, cout, tout), np.float64)
    for j in range(k):
        xs = x[:, :, j * dil: j * dil + stride * (tout - 1) + 1: stride]
        y += np.einsum("oc,bct->bot", w[:, :, j], xs)
    if b is not None:
        y += b[None, :, None]
    return y


def run_onnx_numpy(m, x):
    env = {i.name: numpy_helper.to_array(i).astype(np.float64) if numpy_helper.to_array(i).dtype.kind == "f"
           else numpy_helper.to_array(i) for i in m.graph.initializer}
    env[m.graph.input[0].name] = x.astype(np.float64)
    for n in m.graph.node:
        at = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        i = [env[k] if k else None for k in n.input]
        op = n.op_type
        if op == "Constant":
            v = numpy_helper.to_array(at["value"])
            o = v.astype(np.float64) if v.dtype.kind == "f" else v
        elif op == "Transpose":
            o = np.transpose(i[0], at["perm"])
        elif op == "Conv":
            k = i[1].shape[2]
            o = _conv1d(i[0], i[1], i[2] if len(i) > 2 else None, at.get("strides", [1])[0],
                        at.get("pads", [0, 0]), at.get("dilations", [1])[0], at.get("group", 1))
            assert k == at.get("kernel_shape", [k])[0]
        elif op == "Relu":
            o = np.maximum(i[0], 0)
        elif op == "BatchNormalization":
            xx, g, b, mu, var = i
            sh = (1, -1) + (1,) * (xx.ndim - 2)
            o = (xx - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + at.get("epsilon", 1e-5)) * g.reshape(sh) + \
                b.reshape(sh)
        elif op == "Split":
            split = i[1] if len(i) > 1 and i[1] is not None else at.get("split")
            ax = at.get("axis", 0)
            if split is None:
                o = np.split(i[0], len(n.output), axis=ax)
            else:
                o = np.split(i[0], np.cumsum(split)[:-1], axis=ax)
        elif op == "Add":
            o = i[0] + i[1]
        elif op == "Sub":
            o = i[0] - i[1]
        elif op == "Mul":
            o = i[0] * i[1]
        elif op == "Div":
            o = i[0] / i[1] if np.asarray(i[0]).dtype.kind == "f" else i[0] // i[1]
        elif op == "Concat":
            o = np.concatenate(i, axis=at["axis"])
        elif op == "ReduceMean":
            o = np.mean(i[0], axis=tuple(at["axes"]), keepdims=bool(at.get("keepdims", 1)))
        elif op == "ReduceSum":
            axes = tuple(i[1].tolist()) if len(i) > 1 else tuple(at["axes"])
            o = np.sum(i[0], axis=axes, keepdims=bool(at.get("keepdims", 1)))
        elif op == "Sigmoid":
            o = 1 / (1 + np.exp(-i[0]))
        elif op == "Tanh":
            o = np.tanh(i[0])
        elif op == "Sqrt":
            o = np.sqrt(i[0])
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else -np.inf
            hi = i[2] if len(i) > 2 and i[2] is not None else np.inf
            o = np.clip(i[0], lo, hi)
        elif op == "Max":
            o = np.maximum(i[0], i[1])
        elif op == "Softmax":
            ax = at.get("axis", -1)
            e = np.exp(i[0] - i[0].max(axis=ax, keepdims=True))
            o = e / e.sum(axis=ax, keepdims=True)
        elif op == "Shape":
            o = np.array(i[0].shape, np.int64)
        elif op == "Gather":
            o = np.take(i[0], i[1], axis=at.get("axis", 0))
        elif op == "Unsqueeze":
            axes = i[1].tolist() if len(i) > 1 else at["axes"]
            o = i[0]
            for ax in sorted(axes):
                o = np.expand_dims(o, ax)
        elif op == "Squeeze":
            axes = tuple(i[1].tolist()) if len(i) > 1 else tuple(at["axes"])
            o = np.squeeze(i[0], axis=axes)
        elif op == "Expand":
            o = i[0] * np.ones(tuple(i[1].tolist()), i[0].dtype)
        elif op == "ConstantOfShape":
            v = numpy_helper.to_array(at["value"]) if "value" in at else np.zeros(1, np.float32)
            o = np.full(tuple(i[0].tolist()), v[0], v.dtype if v.dtype.kind != "f" else np.float64)
        elif op == "Cast":
            to = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[at["to"]]
            o = i[0].astype(np.float64 if np.dtype(to).kind == "f" else to)
        elif op == "Reshape":
            o = np.reshape(i[0], tuple(int(s) if s != 0 else i[0].shape[k] for k, s in enumerate(i[1])))
        elif op == "Gemm":
            a = i[0].T if at.get("transA", 0) else i[0]
            b = i[1].T if at.get("transB", 0) else i[1]
            o = at.get("alpha", 1.0) * a @ b + (at.get("beta", 1.0) * i[2] if len(i) > 2 else 0)
        elif op == "MatMul":
            o = i[0] @ i[1]
        elif op == "Identity":
            o = i[0]
        elif op == "Pow":
            o = np.power(i[0], i[1])
        elif op == "Slice":
            starts, ends = i[1], i[2]
            axes = i[3] if len(i) > 3 else np.arange(len(starts))
            steps = i[4] if len(i) > 4 else np.ones(len(starts), np.int64)
            sl = [slice(None)] * i[0].ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(e), int(st))
            o = i[0][tuple(sl)]
        else:
            raise NotImplementedError(op)
        if len(n.output) == 1:
            env[n.output[0]] = o
        else:
            for k, v in zip(n.output, o):
                env[k] = v
    return env[m.graph.output[0].name].astype(np.float32)
