#!/usr/bin/env bash
# Brings a Debian machine (as root) to the point where burstcap runs and its
# tests pass: system packages, hugepages, npm dependencies, the native addon
# and the TypeScript build. Idempotent: each step runs only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------
# openvswitch-switch-dpdk: a real application that runs DPDK --in-memory, for
# the test of what burstcap says about it (about 20 s to install). The tests
# run its ovs-vswitchd-dpdk from a temporary directory; the system service its
# package may start uses the plain ovs-vswitchd and is left alone.
APT_PACKAGES=(dpdk dpdk-dev libdpdk-dev libpcap-dev tcpdump tshark pkg-config build-essential iproute2 coreutils util-linux openvswitch-switch-dpdk clang-format tmux)
missing=()
command -v dpdk-testpmd >/dev/null || missing+=(dpdk)
command -v dpdk-pdump >/dev/null || missing+=(dpdk)
pkg-config --exists libdpdk 2>/dev/null || missing+=(libdpdk-dev dpdk-dev pkg-config)
[ -e /usr/include/pcap/pcap.h ] || missing+=(libpcap-dev)
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v tshark >/dev/null || missing+=(tshark)
command -v capinfos >/dev/null || missing+=(tshark)
command -v tmux >/dev/null || missing+=(tmux)
command -v g++ >/dev/null || missing+=(build-essential)
command -v cc >/dev/null || missing+=(build-essential)
command -v ip >/dev/null || missing+=(iproute2)
command -v stdbuf >/dev/null || missing+=(coreutils)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v unshare >/dev/null || missing+=(util-linux)
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] || missing+=(openvswitch-switch-dpdk)
command -v clang-format >/dev/null || missing+=(clang-format)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages (${missing[*]}): run this as root, or: apt-get install ${APT_PACKAGES[*]}"
    exit 1
  fi
  log "installing ${APT_PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null
fi

# --- hugepages -------------------------------------------------------------
# Each capture ring has its own pool (65535 mbufs, ~160 MB by default) and the
# tests run primaries beside it: 4 GiB of 2 MiB pages leaves room for both.
WANT_PAGES=${BURSTCAP_HUGEPAGES:-2048}
have=$(awk '/^HugePages_Total:/ {print $2}' /proc/meminfo)
if [ "${have:-0}" -lt "$WANT_PAGES" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "reserving $WANT_PAGES hugepages of 2 MiB"
    echo "$WANT_PAGES" > /proc/sys/vm/nr_hugepages
  else
    log "only ${have:-0} hugepages reserved; as root: echo $WANT_PAGES > /proc/sys/vm/nr_hugepages"
  fi
fi
if ! mountpoint -q /dev/hugepages 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    mkdir -p /dev/hugepages
    mount -t hugetlbfs nodev /dev/hugepages
  else
    log "/dev/hugepages is not mounted; as root: mount -t hugetlbfs nodev /dev/hugepages"
  fi
fi

# --- npm dependencies ------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- builds ----------------------------------------------------------------
# Concurrent runs (parallel test processes, a second terminal) build once.
exec 9>node_modules/.burstcap-setup.lock
flock 9

# --- native addon ----------------------------------------------------------
ADDON=native/build/Release/burstcap.node
if [ ! -f "$ADDON" ] || [ -n "$(find native/src native/binding.gyp -newer "$ADDON" -print -quit)" ]; then
  log "building the native addon"
  [ -f native/build/Makefile ] || npx node-gyp configure --nodedir=/usr --directory=native --loglevel=error >/dev/null
  npx node-gyp build --directory=native --loglevel=error >/dev/null
fi

# --- DPDK 24.11 and the addon built against it ------------------------------
# The second supported release, built from its source tarball into its own
# prefix (about 150 s on 2 cores) so that the tests run burstcap against a
# 24.11 primary too. Skipped when that prefix already holds 24.11, or with
# BURSTCAP_DPDK_2411=skip. The tarball: $DPDK_2411_TARBALL, or
# shared/dpdk/dpdk-24.11.tar.xz beside this checkout or beside the checkout
# it was cloned from. DPDK_2411_PREFIX installs it elsewhere.
DPDK_2411_PREFIX=${DPDK_2411_PREFIX:-/opt/dpdk-24.11}
DPDK_2411_SHA256=d3dd24f9cc03250736a130cc0d388e233bac44a2f56c2ad97066953c30065d5d
DPDK_2411_APT=(meson ninja-build python3-pyelftools libpcap-dev pkg-config build-essential xz-utils)
dpdk_2411_pc_dir() {
  local pc
  for pc in "$DPDK_2411_PREFIX"/lib/*/pkgconfig/libdpdk.pc "$DPDK_2411_PREFIX"/lib/pkgconfig/libdpdk.pc; do
    if [ -f "$pc" ] && [ "$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --modversion libdpdk 2>/dev/null)" = 24.11.0 ]; then
      dirname "$pc"
      return 0
    fi
  done
  return 1
}
find_dpdk_2411_tarball() {
  if [ -n "${DPDK_2411_TARBALL:-}" ]; then
    [ -f "$DPDK_2411_TARBALL" ] && { printf '%s\n' "$DPDK_2411_TARBALL"; return 0; }
    log "DPDK_2411_TARBALL=$DPDK_2411_TARBALL does not exist"
    return 1
  fi
  local bases=("$PWD") origin
  origin=$(git remote get-url origin 2>/dev/null || true)
  origin=${origin#file://}
  [ -n "$origin" ] && [ -d "$origin" ] && bases+=("$(cd "$origin" && pwd)")
  local base
  for base in "${bases[@]}"; do
    if [ -f "$(dirname "$base")/shared/dpdk/dpdk-24.11.tar.xz" ]; then
      printf '%s\n' "$(dirname "$base")/shared/dpdk/dpdk-24.11.tar.xz"
      return 0
    fi
  done
  return 1
}
if [ "${BURSTCAP_DPDK_2411:-}" != skip ]; then
  if ! DPDK_2411_PC=$(dpdk_2411_pc_dir); then
    if [ "$(id -u)" -ne 0 ]; then
      log "DPDK 24.11 is not installed in $DPDK_2411_PREFIX: run this as root (or set BURSTCAP_DPDK_2411=skip)"
      exit 1
    fi
    if ! tarball=$(find_dpdk_2411_tarball); then
      log "error: DPDK 24.11 is not installed in $DPDK_2411_PREFIX and its source tarball was not found."
      log "  Looked for shared/dpdk/dpdk-24.11.tar.xz next to $PWD and next to the checkout it was cloned from."
      log "  Get dpdk-24.11.tar.xz (DPDK's v24.11 release, sha256 $DPDK_2411_SHA256) and run"
      log "  DPDK_2411_TARBALL=/path/to/dpdk-24.11.tar.xz bash scripts/setup.sh, or BURSTCAP_DPDK_2411=skip to do without it."
      exit 1
    fi
    if [ "$(sha256sum "$tarball" | cut -d' ' -f1)" != "$DPDK_2411_SHA256" ]; then
      log "error: $tarball is not DPDK 24.11's source tarball (sha256 differs from $DPDK_2411_SHA256)"
      exit 1
    fi
    need=()
    for p in "${DPDK_2411_APT[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
    if [ ${#need[@]} -gt 0 ]; then
      log "installing ${need[*]} to build DPDK 24.11"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    log "building DPDK 24.11 from $tarball into $DPDK_2411_PREFIX (about 3 minutes)"
    work=$(mktemp -d)
    tar -xf "$tarball" -C "$work"
    # Only what burstcap and its tests use: the vdev bus, the null, ring and
    # pcap ports, the ring mempool, testpmd, dpdk-pdump and dpdk-dumpcap.
    (cd "$work"/dpdk-24.11 &&
      meson setup build -Dplatform=generic \
        -Denable_drivers=bus/vdev,net/null,net/ring,net/pcap,mempool/ring \
        -Denable_apps=test-pmd,pdump,dumpcap -Dtests=false -Denable_docs=false -Dexamples= \
        --prefix="$DPDK_2411_PREFIX" >"$work/meson.log" 2>&1 &&
      ninja -C build -j"$(nproc)" >"$work/ninja.log" 2>&1 &&
      ninja -C build install >"$work/install.log" 2>&1) || {
      log "error: building DPDK 24.11 failed; the logs are in $work"
      exit 1
    }
    rm -rf "$work"
    DPDK_2411_PC=$(dpdk_2411_pc_dir) || { log "error: no libdpdk.pc of 24.11 under $DPDK_2411_PREFIX after the build"; exit 1; }
  fi
  ADDON_2411=native/build-24.11/build/Release/burstcap.node
  if [ ! -f "$ADDON_2411" ] || [ -n "$(find native/src native/binding.gyp scripts/build-addon.js -newer "$ADDON_2411" -print -quit)" ]; then
    log "building the native addon against DPDK 24.11"
    out=$(PKG_CONFIG_PATH="$DPDK_2411_PC" node scripts/build-addon.js --for 24.11 2>&1) || {
      printf '%s\n' "$out" >&2
      exit 1
    }
  fi
fi

# --- TypeScript --------------------------------------------------------------
if [ ! -f dist/src/main/cli/cli.js ] || [ -n "$(find src bench tsconfig.json package.json -newer dist/src/main/cli/cli.js -print -quit 2>/dev/null)" ]; then
  log "compiling TypeScript"
  npx tsc -p tsconfig.json
fi
