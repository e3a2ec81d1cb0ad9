#!/usr/bin/env python3
"""The PyTorch reference for the analysis's throughput: the same interpolation work as the ORT engines.

For each of P consecutive pairs of states and each of A values of alpha, the network's parameters are set to
(1 - alpha) * a + alpha * b on the device, and the loss is summed over N examples in batches of B with
batch-statistics batch norm (the study's protocol), one number fetched to the host per alpha. The network
is built from sgdwalk's own layer list (node's flattenLayers(resolveLayers(spec)) as JSON, --layers), so
it has the same layers, shapes and multiply-accumulates as the graph ORT runs; the data are synthetic
CIFAR-shaped images resident on the device, as the ORT engines keep theirs. The states are random: the
work does not depend on their values. Prints one JSON object.

  python3 torch-interpolation.py --layers layers.json --device cuda --examples 10000 --pairs 3 --alphas 10
"""
import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", required=True, help="JSON: {inputShape, classes, layers: [...]} from sgdwalk")
    p.add_argument("--device", default="cuda")
    p.add_argument("--examples", type=int, default=10000)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--alphas", type=int, default=10)
    p.add_argument("--eval-batch", type=int, default=500)
    p.add_argument("--tf32", choices=["on", "off"], default="off")
    p.add_argument("--peak-n", type=int, default=4096)
    return p.parse_args()


class Net:
    """The layer list as functions of one flat parameter vector (so alpha-mixing is one fused op)."""

    def __init__(self, layers, device):
        self.layers = layers
        self.shapes = []
        for layer in layers:
            t = layer["type"]
            if t == "conv2d":
                kh, kw = layer["kernel"]
                self.shapes.append((layer["name"] + ".weight", (layer["filters"], layer["inChannels"], kh, kw)))
                if layer.get("bias"):
                    self.shapes.append((layer["name"] + ".bias", (layer["filters"],)))
            elif t == "dense":
                self.shapes.append((layer["name"] + ".weight", (layer["units"], layer["inFeatures"])))
                if layer.get("bias"):
                    self.shapes.append((layer["name"] + ".bias", (layer["units"],)))
            elif t == "batchnorm":
                self.shapes.append((layer["name"] + ".gamma", (layer["features"],)))
                self.shapes.append((layer["name"] + ".beta", (layer["features"],)))
            elif t not in ("relu", "maxpool", "flatten", "softmax-cross-entropy", "global-avgpool"):
                raise SystemExit(f"torch-interpolation.py: layer type {t} is not built here")
        self.size = sum(torch.Size(s).numel() for _, s in self.shapes)
        self.device = device

    def views(self, flat):
        out, offset = {}, 0
        for name, shape in self.shapes:
            n = torch.Size(shape).numel()
            out[name] = flat[offset:offset + n].view(shape)
            offset += n
        return out

    def loss_sum(self, params, x, y):
        h = x
        for layer in self.layers:
            t, name = layer["type"], layer["name"]
            if t == "conv2d":
                pads = layer["pads"]  # top, left, bottom, right as sgdwalk writes ONNX pads (symmetric for "same" 3x3)
                h = F.conv2d(h, params[name + ".weight"], params.get(name + ".bias"), stride=tuple(layer["stride"]), padding=(pads[0], pads[1]))
            elif t == "batchnorm":
                h = F.batch_norm(h, None, None, params[name + ".gamma"], params[name + ".beta"], training=True, eps=layer["epsilon"])
            elif t == "relu":
                h = F.relu(h)
            elif t == "maxpool":
                h = F.max_pool2d(h, tuple(layer["kernel"]), tuple(layer["stride"]))
            elif t == "global-avgpool":
                h = h.mean(dim=(2, 3))
            elif t == "flatten":
                h = h.flatten(1)
            elif t == "dense":
                h = F.linear(h, params[name + ".weight"], params.get(name + ".bias"))
            elif t == "softmax-cross-entropy":
                return F.cross_entropy(h, y, reduction="sum")
        raise SystemExit("torch-interpolation.py: the layer list has no softmax-cross-entropy")


def macs_per_example(layers):
    macs = 0
    for layer in layers:
        if layer["type"] == "dense":
            macs += layer["inFeatures"] * layer["units"]
        if layer["type"] == "conv2d":
            oh, ow, _ = layer["outShape"]
            kh, kw = layer["kernel"]
            macs += oh * ow * layer["filters"] * kh * kw * layer["inChannels"]
    return macs


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, n, repeats=10):
    a = torch.rand(n, n, device=device) - 0.5
    b = torch.rand(n, n, device=device) - 0.5
    for _ in range(2):
        (a @ b).sum().item()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        (a @ b).sum().item()
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * n**3 / best / 1e9, "n": n, "seconds": best}


def main():
    o = parse()
    spec = json.load(open(o.layers))
    device = torch.device(o.device)
    tf32 = o.tf32 == "on"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    # cuDNN's algorithm search, as ORT's CUDA provider does by default (cudnn_conv_algo_search EXHAUSTIVE)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    net = Net(spec["layers"], device)
    h, w, c = spec["inputShape"]
    x = torch.randn(o.examples, c, h, w, device=device)
    y = torch.randint(0, spec["classes"], (o.examples,), device=device)
    states = [torch.randn(net.size, device=device) * 0.05 for _ in range(o.pairs + 1)]
    alphas = [i / o.alphas for i in range(o.alphas)]
    batches = [(x[i:i + o.eval_batch], y[i:i + o.eval_batch]) for i in range(0, o.examples, o.eval_batch)]

    @torch.no_grad()
    def line(a, b):
        losses = []
        for alpha in alphas:
            params = net.views(torch.lerp(a, b, alpha))
            total = torch.zeros((), device=device)
            for xb, yb in batches:
                total += net.loss_sum(params, xb, yb)
            losses.append(total.item() / o.examples)  # one number to the host per alpha, as the ORT engines fetch
        return losses

    line(states[0], states[1])  # warm-up: cuDNN's search and the allocator's first blocks
    sync(device)
    start = time.perf_counter()
    first = None
    for t in range(o.pairs):
        losses = line(states[t], states[t + 1])
        first = first or losses
    sync(device)
    seconds = time.perf_counter() - start
    macs = macs_per_example(spec["layers"])
    flops = 2 * macs * o.examples * len(alphas) * o.pairs
    peak = matmul_peak(device, o.peak_n)
    gflops = flops / seconds / 1e9
    print(json.dumps({
        "benchmark": "torch-interpolation",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "tf32": tf32,
        "workload": {"pairs": o.pairs, "alphas": len(alphas), "examples": o.examples, "evalBatchSize": o.eval_batch, "macsPerExample": macs, "flops": flops},
        "seconds": seconds,
        "examplesAlphaPerSecond": o.examples * len(alphas) * o.pairs / seconds,
        "effectiveGflops": gflops,
        "matmulPeak": peak,
        "overPeak": gflops / peak["gflops"],
        "firstPairLosses": first,
    }))


if __name__ == "__main__":
    main()
