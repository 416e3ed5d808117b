#!/usr/bin/env bash
# Smoke test of the runtime on 64-bit ARM under qemu user-mode emulation (Debian
# packages; needs root for apt-get). Correctness only: timings under emulation
# mean nothing. Builds an arm64 Python 3.11 from Debian's .debs in a scratch folder,
# installs the runtime's aarch64 wheels into it with the host's pip, cross-compiles
# the native vectorizer (imdb_edge/runtime/_fastvec.c) for aarch64 with Debian's
# gcc-aarch64-linux-gnu against the arm64 Python headers, and checks, with the native
# and with the pure-Python vectorizer, that feature ids (of the model's vocabulary, by
# term fingerprints, and of hashed 1-3-gram buckets) and labels equal the x86_64 ones and scores agree to 1e-6.
#   bash scripts/aarch64-smoke.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${1:-${TMPDIR:-/tmp}/imdb-edge-aarch64}
PY=${PYTHON:-python3}
mkdir -p "$WORK/debs" "$WORK/rootfs" "$WORK/site"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
if ! command -v qemu-aarch64-static >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt-get install -y -qq --no-install-recommends qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
PACKAGES="libc6 libgcc-s1 libstdc++6 zlib1g libexpat1 libffi8 libssl3 libbz2-1.0 liblzma5 libuuid1 \
  libsqlite3-0 libncursesw6 libtinfo6 libreadline8 libdb5.3 libcrypt1 libgomp1 libnsl2 libtirpc3 \
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev"
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

# The pip run above built the package on this x86_64 host: replace its extension
# with an aarch64 build of the same source, as a Pi with a compiler would make it.
rm -f "$WORK"/site/imdb_edge/runtime/_fastvec*.so
INCLUDE="$WORK/rootfs/usr/include"
aarch64-linux-gnu-gcc -shared -fPIC -O2 -Wall -Werror -I"$INCLUDE/python3.11" -I"$INCLUDE" \
  imdb_edge/runtime/_fastvec.c -o "$WORK/site/imdb_edge/runtime/_fastvec.cpython-311-aarch64-linux-gnu.so"
file "$WORK/site/imdb_edge/runtime/_fastvec.cpython-311-aarch64-linux-gnu.so" 2>/dev/null || true

run() {  # from $WORK: the emulated Python must import the installed package, not the x86_64 one in the source tree
  (cd "$WORK" && PYTHONPATH="$WORK/site" PYTHONHOME="$WORK/rootfs/usr" qemu-aarch64-static -cpu cortex-a72 \
    -L "$WORK/rootfs" "$WORK/rootfs/usr/bin/python3.11" "$@")
}
run -c "import platform, numpy, onnxruntime; print(platform.machine(), 'numpy', numpy.__version__, 'onnxruntime', onnxruntime.__version__)"

# Scores (repr: every bit), labels and digests of the feature ids of the shipped
# sample reviews plus tricky text, from the default model (one copy, read by both
# sides: its vocabulary is looked up by 64-bit term fingerprints, natively in the
# Fingerprints table) and from a hashed vectorizer (2**21 buckets, 1-3-grams: CRC-32
# tables, 64-bit multiplies); the first line names the vectorizer implementation and
# the native kernels that ran.
cp imdb_edge/runtime/models/default.int8.onnx "$WORK/model.onnx"
export IMDB_EDGE_MODEL="$WORK/model.onnx"
PROBE='
import hashlib, platform
from imdb_edge.data.reviews import sample_reviews
from imdb_edge.runtime.classifier import Classifier
from imdb_edge.runtime.vectorizer import Vectorizer, VectorizerConfig
texts = sample_reviews() + ["An absolute masterpiece, I loved every minute.", "This movie was a waste of time",
    "NUL\x00 caf\u00e9 \ud800 <br /><br />BR br not GOOD at all" * 3, "x" * 5000, ""]
classifier = Classifier.load()
hashed = Vectorizer(VectorizerConfig(hash_buckets=2**21, ngram_max=3), None)
marked = Vectorizer(VectorizerConfig(hash_buckets=2**21, ngram_max=3, negation=True), None)  # ascii-split-neg-v1
assert hashed.implementation == classifier.vectorizer.implementation, hashed.implementation
# the header names the native kernels that ran: Fingerprints (vocabulary table probes) and Hasher (buckets)
kernels = [type(v._native).__name__ for v in (classifier.vectorizer, hashed) if v._native is not None]
print(platform.machine(), classifier.vectorizer.implementation, *kernels)
ids = classifier.vectorizer.padded_ids(texts)
print("ids", ids.shape, hashlib.sha256(ids.astype("<i8").tobytes()).hexdigest())
ids = hashed.padded_ids(texts)
print("hashed ids", ids.shape, hashlib.sha256(ids.astype("<i8").tobytes()).hexdigest())
ids = marked.padded_ids(texts)
print("negation ids", ids.shape, hashlib.sha256(ids.astype("<i8").tobytes()).hexdigest())
for score in classifier.scores(texts):  # scores(): empty text too (predict_batch refuses it)
    print(classifier.label_of(float(score)), repr(float(score)))
'
# Feature ids and labels must be identical; scores may differ in the last float32 bits
# (onnxruntime's ARM and x86 kernels sum in different orders), by at most 1e-6.
COMPARE='
import sys
expected, actual = (open(p).read().splitlines() for p in sys.argv[1:3])
for e, a in zip(expected[:3], actual[:3]):  # the vocabulary ids, the hashed and the negation-marked ones
    assert e == a, f"feature ids differ: {e} vs {a}"
assert len(expected) == len(actual), "different number of reviews"
pairs = [(e.split(), a.split()) for e, a in zip(expected[3:], actual[3:])]
labels = sum(e[0] != a[0] for e, a in pairs)
worst = max(abs(float(e[1]) - float(a[1])) for e, a in pairs)
same = sum(e[1] == a[1] for e, a in pairs)
print(f"{len(pairs)} reviews: feature ids identical (vocabulary, hashed, negation-marked), {labels} labels differ, {same} scores bit-identical, "
      f"max |score diff| {worst:.1e}")
assert labels == 0 and worst <= 1e-6
'
status=0
IMDB_EDGE_PURE_PYTHON=1 "$PY" -c "$PROBE" | tail -n +2 > "$WORK/x86_64.txt"
IMDB_EDGE_PURE_PYTHON=0 "$PY" -c "$PROBE" | tail -n +2 > "$WORK/x86_64-native.txt"
if ! cmp -s "$WORK/x86_64.txt" "$WORK/x86_64-native.txt"; then
  echo "aarch64 smoke test: FAIL (on x86_64 the native and pure-Python vectorizers differ)"; status=1
fi
for impl in native python; do
  if [ "$impl" = python ]; then pure=1; want="aarch64 python"; else pure=0; want="aarch64 native Fingerprints Hasher"; fi
  IMDB_EDGE_PURE_PYTHON=$pure run -c "$PROBE" > "$WORK/aarch64-$impl.txt"
  header=$(head -1 "$WORK/aarch64-$impl.txt")
  echo "aarch64 run: $header"
  if [ "$header" != "$want" ]; then
    echo "aarch64 smoke test: FAIL (expected the $impl vectorizer on aarch64, got: $header)"; status=1; continue
  fi
  tail -n +2 "$WORK/aarch64-$impl.txt" > "$WORK/aarch64-$impl.body"
  if verdict=$("$PY" -c "$COMPARE" "$WORK/x86_64.txt" "$WORK/aarch64-$impl.body" 2>&1); then
    echo "aarch64 $impl vectorizer vs x86_64: $verdict"
  else
    echo "aarch64 smoke test: FAIL ($impl vectorizer vs x86_64: $(printf '%s' "$verdict" | tail -1))"; status=1
  fi
done

good=$(run -m imdb_edge classify "An absolute masterpiece, I loved every minute.")
bad=$(run -m imdb_edge classify "This movie was a waste of time")
echo "positive review -> $good"
echo "negative review -> $bad"
cli_expected=$("$PY" -m imdb_edge classify "An absolute masterpiece, I loved every minute." "This movie was a waste of time")
echo "x86_64: $(printf '%s' "$cli_expected" | tr '\n' ' ')"
if [ "$(printf '%s\n%s' "$good" "$bad" | cut -f1)" != "$(printf '%s' "$cli_expected" | cut -f1)" ]; then
  echo "aarch64 smoke test: FAIL (classify labels differ)"; status=1
fi
if [ "$status" = 0 ]; then
  echo "aarch64 smoke test: PASS (ids and labels identical to x86_64, scores within 1e-6, native and pure-Python vectorizer)"
fi
exit $status
