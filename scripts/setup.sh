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

# --- TypeScript --------------------------------------------------------------
if [ ! -f dist/src/main/cli/cli.js ] || [ -n "$(find src bench tsconfig.json package.json -newer dist/src/main/cli/cli.js -print -quit 2>/dev/null)" ]; then
  log "compiling TypeScript"
  npx tsc -p tsconfig.json
fi
