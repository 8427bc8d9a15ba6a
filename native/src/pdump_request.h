// The request rte_pdump sends its primary over EAL's IPC channel, private to
// lib/pdump/rte_pdump.c (struct pdump_request, the same in DPDK 21.11 to
// 24.11). burstcap builds it itself for one case only: disables sent without
// waiting for the answer, after the primary let one request time out (see
// pdump.cc). EAL allows one pending request of a name at a time, so a primary
// that does not answer would otherwise cost DPDK's 5 s once per callback.
#pragma once
#include <rte_dev.h>
#include <rte_eal.h>
#include <stdint.h>

struct rte_bpf_prm;
struct rte_mempool;
struct rte_ring;

namespace burstcap {

constexpr const char* kPdumpMpName = "mp_pdump";
constexpr uint16_t kPdumpOpDisable = 1;
// V2: the pcapng-era request (filter and snap length), which every release
// since 21.11 accepts; the primary rejects a request of the wrong size.
constexpr uint16_t kPdumpRequestV2 = 2;

struct PdumpRequest {
  uint16_t ver;
  uint16_t op;
  uint32_t flags;
  char device[RTE_DEV_NAME_MAX_LEN];
  uint16_t queue;
  struct rte_ring* ring;
  struct rte_mempool* mp;
  const struct rte_bpf_prm* prm;
  uint32_t snaplen;
};
static_assert(sizeof(PdumpRequest) <= RTE_MP_MAX_PARAM_LEN, "the request fits one IPC message");

}  // namespace burstcap
