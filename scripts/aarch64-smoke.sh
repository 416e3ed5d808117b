#!/usr/bin/env bash
# Smoke test of the runtime on 64-bit ARM under qemu user-mode emulation (Debian
# packages; needs root for apt-get). Correctness only: timings under emulation
# mean nothing. Builds an arm64 Python 3.11 from Debian's .debs in a scratch folder,
# installs the runtime's aarch64 wheels into it with the host's pip, and classifies.
#   bash scripts/aarch64-smoke.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${1:-${TMPDIR:-/tmp}/imdb-edge-aarch64}
PY=${PYTHON:-python3}
mkdir -p "$WORK/debs" "$WORK/rootfs" "$WORK/site"

if ! command -v qemu-aarch64-static >/dev/null; then
  apt-get install -y -qq qemu-user-static >/dev/null
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
PACKAGES="libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libuuid1 \
  libsqlite3-0 libncursesw6 libtinfo6 libreadline8 libdb5.3 libcrypt1 libgomp1 libnsl2 libtirpc3 \
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib"
(cd "$WORK/debs" && for p in $PACKAGES; do ls "${p}"_*_arm64.deb >/dev/null 2>&1 || apt-get download -qq "$p:arm64" 2>/dev/null; done)
for deb in "$WORK"/debs/*.deb; do dpkg -x "$deb" "$WORK/rootfs"; done
# qemu-user shows the emulated program the host's x86 /proc/cpuinfo; onnxruntime's
# CPU detection (cpuinfo) then finds no ARM cores and crashes. With -L, qemu looks for
# absolute paths under the rootfs first, so give it a Raspberry Pi 4 (Cortex-A72) one.
mkdir -p "$WORK/rootfs/proc"
for n in 0 1; do
  printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$n"
done > "$WORK/rootfs/proc/cpuinfo"

"$PY" -m pip install --quiet --upgrade --target "$WORK/site" --only-binary=:all: --implementation cp \
  --python-version 3.11 --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 "$ROOT"

run() {
  PYTHONPATH="$WORK/site" PYTHONHOME="$WORK/rootfs/usr" qemu-aarch64-static -cpu cortex-a72 -L "$WORK/rootfs" \
    "$WORK/rootfs/usr/bin/python3.11" "$@"
}
run -c "import platform, numpy, onnxruntime; print(platform.machine(), 'numpy', numpy.__version__, 'onnxruntime', onnxruntime.__version__)"
good=$(run -m imdb_edge classify "An absolute masterpiece, I loved every minute.")
bad=$(run -m imdb_edge classify "This movie was a waste of time")
echo "positive review -> $good"
echo "negative review -> $bad"
expected=$("$PY" -m imdb_edge classify "An absolute masterpiece, I loved every minute." "This movie was a waste of time")
actual=$(printf '%s\n%s' "$good" "$bad")
if [ "$actual" = "$expected" ]; then
  echo "aarch64 smoke test: PASS (labels and scores identical to x86_64)"
else
  echo "aarch64 smoke test: FAIL"; echo "x86_64: $expected"; echo "aarch64: $actual"; exit 1
fi
