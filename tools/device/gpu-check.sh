#!/usr/bin/env bash
# The GPU check of issue 18, in one run (docs/gpu.md says how to run it on the GPU machine):
#   tools/device/gpu-check.sh            on a GPU machine: ~8 minutes
#   tools/device/gpu-check.sh --dry-run  the same steps end to end on the CPU at toy size (CI)
# Steps: unpack what was carried (.device-carry/), install the CUDA provider with the CUDA libraries of the
# machine's own Python environment, `sgdwalk gpu check`, the CUDA and WebGPU equivalence tests against the
# CPU provider, the interpolation throughput of VGG-11 on ORT CUDA (TF32 off, then on), ORT WebGPU and
# PyTorch on the same synthetic CIFAR-shaped data, and the training check when tools/device/train-check.mjs
# exists. Prints one JSON (tools/device/gpu-check-report.mjs) on stdout, whatever failed; progress on stderr.
# Sizes can be changed with GPU_CHECK_EXAMPLES, _PAIRS, _ALPHAS, _WIDTH, _EVAL_BATCH.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DRY=0
case "${1:-}" in
  --dry-run) DRY=1 ;;
  '') ;;
  *) echo "usage: tools/device/gpu-check.sh [--dry-run]" >&2; exit 2 ;;
esac
say() { echo "gpu-check: $*" >&2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sgdwalk-gpu-check-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PYTHON=${SGDWALK_PYTHON:-python3}
CARRY=.device-carry

# What travelled in pieces (tools/device/pack-for-device.sh): node, the built packages, node_modules, the
# provider's two libraries. Reassembled and unpacked once; a warm machine keeps them for a rerun.
if compgen -G "$CARRY/runtime.tar.xz.part-*" >/dev/null && [ ! -e "$CARRY/unpacked" ]; then
  say "reassembling $(ls "$CARRY"/runtime.tar.xz.part-* | wc -l) pieces and unpacking…"
  cat "$CARRY"/runtime.tar.xz.part-* | tar -xJf - -C "$ROOT" && touch "$CARRY/unpacked" || { say "unpacking failed"; exit 1; }
fi
if compgen -G "$CARRY/provider.tgz.part-*" >/dev/null && [ ! -f "$CARRY/provider.tgz" ]; then
  cat "$CARRY"/provider.tgz.part-* >"$CARRY/provider.tgz.partial"
  if [ -f "$CARRY/provider.tgz.sha1" ] && [ "$(sha1sum "$CARRY/provider.tgz.partial" | cut -d' ' -f1)" != "$(cat "$CARRY/provider.tgz.sha1")" ]; then
    say "the provider's pieces do not reassemble to the tarball packed (sha1 differs): carry every piece again"; exit 1
  fi
  mv "$CARRY/provider.tgz.partial" "$CARRY/provider.tgz"
fi
[ -x "$CARRY/bin/node" ] && export PATH="$ROOT/$CARRY/bin:$PATH"
CLI="node packages/cli/bin/sgdwalk.js"

if [ "$DRY" = 1 ]; then
  WIDTH=${GPU_CHECK_WIDTH:-0.125} EXAMPLES=${GPU_CHECK_EXAMPLES:-100} PAIRS=${GPU_CHECK_PAIRS:-1} ALPHAS=${GPU_CHECK_ALPHAS:-3} BATCH=${GPU_CHECK_EVAL_BATCH:-50} PEAK=128
  TORCH_DEVICE=cpu ORT_RUNS="cpu" MAIN=cpu REFERENCE=cpu TF32_RUN=""
  EQUIVALENCE="node node_modules/vitest/vitest.mjs run packages/analysis/src/devices/cuda.test.ts"
else
  WIDTH=${GPU_CHECK_WIDTH:-1} EXAMPLES=${GPU_CHECK_EXAMPLES:-5000} PAIRS=${GPU_CHECK_PAIRS:-2} ALPHAS=${GPU_CHECK_ALPHAS:-10} BATCH=${GPU_CHECK_EVAL_BATCH:-500} PEAK=4096
  TORCH_DEVICE=cuda ORT_RUNS="cuda cuda-tf32 webgpu" MAIN=cuda REFERENCE="" TF32_RUN=cuda-tf32
  EQUIVALENCE="node node_modules/vitest/vitest.mjs run packages/analysis/src/devices/cuda.test.ts packages/analysis/src/devices/webgpu.test.ts"
  export SGDWALK_REQUIRE_CUDA=1
fi
MODEL=vgg11-bn
# Each step has its own limit, so one that hangs is reported (its log's tail) instead of taking the whole
# run, and the JSON is still printed inside the device call's limit.
STEP_LIMIT=${GPU_CHECK_STEP_SECONDS:-$([ "$DRY" = 1 ] && echo 600 || echo 100)}
limit() { timeout -k 5 "$STEP_LIMIT" "$@"; }
ortRunsJson=$(printf '"%s",' $ORT_RUNS)
cat >"$WORK/mode.json" <<EOF
{"dryRun": $([ "$DRY" = 1 ] && echo true || echo false), "sizes": {"model": "$MODEL", "width": $WIDTH, "examples": $EXAMPLES, "pairs": $PAIRS, "alphas": $ALPHAS, "evalBatch": $BATCH, "peakN": $PEAK, "dataset": "synthetic CIFAR-shaped"},
 "ortRuns": [${ortRunsJson%,}], "mainRun": "$MAIN", "referenceRun": "$REFERENCE", "tf32Run": "$TF32_RUN", "equivalenceCommand": "$EQUIVALENCE"}
EOF

# 1. The provider, with the CUDA libraries of this machine's Python environment (its CUDA wheels), and the
# driver's folder where the image mounts it outside the loader cache.
DRIVER_LIBS=()
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -e "$dir/libcuda.so.1" ] && DRIVER_LIBS+=(--cuda-libs "$dir"); done
if [ "$DRY" = 1 ]; then
  echo "dry run: no provider installed (a 171 MiB download; cuda-provider.test.ts installs a built tarball)" >"$WORK/install.log"
elif [ -f "$CARRY/provider.tgz" ]; then
  say "installing the CUDA provider from $CARRY/provider.tgz with $PYTHON's CUDA libraries…"
  limit $CLI gpu install cuda --tarball "$CARRY/provider.tgz" --python "$PYTHON" "${DRIVER_LIBS[@]}" >"$WORK/install.log" 2>&1
else
  say "installing the CUDA provider (npm pack) with $PYTHON's CUDA libraries…"
  limit $CLI gpu install cuda --python "$PYTHON" "${DRIVER_LIBS[@]}" >"$WORK/install.log" 2>&1
fi
# Programs started here (vitest, the bench) get the recorded folders as the sgdwalk command would.
export "$($CLI gpu env)"

# 2. What is usable.
say "sgdwalk gpu check…"
limit $CLI gpu check --json --python "$PYTHON" "${DRIVER_LIBS[@]}" >"$WORK/gpu-check.json" 2>"$WORK/gpu-check.log"

# 3. The equivalence tests against the CPU provider.
say "$EQUIVALENCE…"
timeout -k 5 $((STEP_LIMIT * 3 / 2)) $EQUIVALENCE >"$WORK/equivalence.log" 2>&1
echo $? >"$WORK/equivalence.rc"

# 4. Interpolation throughput: ORT on each provider, then PyTorch on the same network and data sizes.
for name in $ORT_RUNS; do
  provider=${name%-tf32}
  tf32=$([ "$name" != "$provider" ] && echo on || echo off)
  say "interpolation on ORT $provider (TF32 $tf32)…"
  limit node tools/bench/index.mjs analysis --provider "$provider" --tf32 "$tf32" --model "$MODEL" --width "$WIDTH" --examples "$EXAMPLES" \
    --pairs "$PAIRS" --alphas "$ALPHAS" --eval-batch "$BATCH" --peak-n "$PEAK" --dataset synthetic >"$WORK/ort-$name.json" 2>"$WORK/ort-$name.log"
done
say "interpolation on PyTorch ($TORCH_DEVICE)…"
node tools/device/model-layers.mjs "$MODEL" "$WIDTH" >"$WORK/layers.json" 2>"$WORK/torch.log" &&
  limit "$PYTHON" tools/device/torch-interpolation.py --layers "$WORK/layers.json" --device "$TORCH_DEVICE" --tf32 off --examples "$EXAMPLES" \
    --pairs "$PAIRS" --alphas "$ALPHAS" --eval-batch "$BATCH" --peak-n "$PEAK" >"$WORK/torch.json" 2>>"$WORK/torch.log"

# 5. Training on the device (issue 19's check), when it is there.
if [ -f tools/device/train-check.mjs ]; then
  say "training check…"
  limit node tools/device/train-check.mjs $([ "$DRY" = 1 ] && echo --dry-run) >"$WORK/training.json" 2>"$WORK/training.log"
else
  touch "$WORK/training.absent"
fi

node tools/device/gpu-check-report.mjs "$WORK"
