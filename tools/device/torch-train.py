#!/usr/bin/env python3
"""Milliseconds per SGD step of VGG-11 with batch norm on CIFAR-sized input in PyTorch: the reference
that tools/device/train-check.mjs compares TensorFlow.js's WebGPU training with on the same machine.

The network is sgdwalk's library model vgg11-bn (packages/core/models/vgg11-bn.json): config A convs
64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M (3x3, padding 1, no bias, each followed by batch norm
and relu), then dense 512 -> batch norm -> relu -> dense 10; width scales every conv and the hidden dense
layer. The step is the paper's: cross-entropy, plain SGD (lr 0.1, weight decay 1e-4, no momentum), batch
norm in training mode, on a fixed seeded batch (the data pipeline is not timed, as in train-check.mjs).
CUDA is synchronised before each clock read. Prints one JSON object.

  python3 tools/device/torch-train.py --device cuda --width 1 --batch 100 --steps 50 --warmup 5
  /usr/bin/python3 tools/device/torch-train.py --device cpu --width 0.125 --batch 10 --steps 3 --warmup 1
"""
import argparse
import json
import time

import torch
import torch.nn as nn

CONFIG_A = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def vgg11_bn(width: float, classes: int = 10) -> nn.Sequential:
    scaled = lambda units: max(1, round(units * width))
    layers, channels = [], 3
    for item in CONFIG_A:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            out = scaled(item)
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
    hidden = scaled(512)
    layers += [nn.Flatten(), nn.Linear(channels, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():  # He-normal, as sgdwalk's init
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # the fastest conv algorithms for this fixed shape
    torch.manual_seed(0)
    model = vgg11_bn(args.width).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # the readout sgdwalk's step makes too (it reads its loss and norms back)

    for _ in range(args.warmup):
        step()
    sync()
    times, loss = [], float("nan")
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "device": name, "width": args.width, "batch": args.batch,
        "warmupSteps": args.warmup, "steps": args.steps, "msPerStep": round(times[len(times) // 2], 3), "msPerStepMin": round(times[0], 3),
        "lastLoss": round(loss, 4), "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
    }))


if __name__ == "__main__":
    main()
