// The DPDK releases burstcap is built for. A secondary reads its primary's
// shared memory with the layouts of the headers it was compiled with, and
// what the primary's pdump puts in each copy changed between releases, so
// every release-dependent choice is made here, at build time, from
// rte_version.h. The JS side refuses a primary of another release before
// EAL is initialised (src/main/primary/inspect.ts checkVersion).
#pragma once
#include <rte_version.h>

#if RTE_VERSION >= RTE_VERSION_NUM(24, 11, 0, 0) && RTE_VERSION < RTE_VERSION_NUM(24, 12, 0, 0)
#define BURSTCAP_DPDK_24_11 1
#elif RTE_VERSION >= RTE_VERSION_NUM(22, 11, 0, 0) && RTE_VERSION < RTE_VERSION_NUM(22, 12, 0, 0)
#define BURSTCAP_DPDK_24_11 0
#else
#error "burstcap supports DPDK 22.11 and 24.11 LTS: set PKG_CONFIG_PATH to the directory of one of their libdpdk.pc"
#endif

namespace burstcap {

// DPDK 24.11's rte_pcapng_copy() stamps each copy with rte_get_tsc_cycles()
// (lib/pcapng/rte_pcapng.c: "Put timestamp in cycles here"); 22.11's writes
// nanoseconds from its own TSC-to-ns clock, which starts wrong (drain.cc).
constexpr bool kCopiesStampedInTsc = BURSTCAP_DPDK_24_11;

}  // namespace burstcap
