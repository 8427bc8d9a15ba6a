#include "pdump.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_memzone.h>
#include <rte_pdump.h>

#include "capture_ring.h"
#include "eal.h"
#include "errors.h"
#include "filter.h"

namespace burstcap {

namespace {
// rte_pdump_init() in the primary reserves this memzone; its absence is the
// one reliable sign, readable without a request, that the primary never did.
constexpr const char* kPdumpStatsZone = "rte_pdump_stats";

// Layout of that memzone in DPDK 22.11 (lib/pdump/rte_pdump.c): per-queue
// counters for rx, then for tx. Read directly for per-ring drop figures.
struct PdumpStatsZone {
  struct rte_pdump_stats rx[RTE_MAX_ETHPORTS][RTE_MAX_QUEUES_PER_PORT];
  struct rte_pdump_stats tx[RTE_MAX_ETHPORTS][RTE_MAX_QUEUES_PER_PORT];
};

Napi::Object StatsObject(Napi::Env env, const struct rte_pdump_stats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("accepted", Napi::Number::New(env, static_cast<double>(__atomic_load_n(&s.accepted, __ATOMIC_RELAXED))));
  o.Set("filtered", Napi::Number::New(env, static_cast<double>(__atomic_load_n(&s.filtered, __ATOMIC_RELAXED))));
  o.Set("nombuf", Napi::Number::New(env, static_cast<double>(__atomic_load_n(&s.nombuf, __ATOMIC_RELAXED))));
  o.Set("ringfull", Napi::Number::New(env, static_cast<double>(__atomic_load_n(&s.ringfull, __ATOMIC_RELAXED))));
  return o;
}

uint16_t ArgPort(const Napi::CallbackInfo& info, size_t i) {
  uint32_t port = ArgU32(info, i, "port");
  if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(port))) {
    Throw(info.Env(), "NO_SUCH_PORT", "port " + std::to_string(port) + " does not exist in the primary");
  }
  return static_cast<uint16_t>(port);
}

uint32_t ArgDirection(const Napi::CallbackInfo& info, size_t i) {
  uint32_t flags = ArgU32(info, i, "direction");
  if (flags != RTE_PDUMP_FLAG_RX && flags != RTE_PDUMP_FLAG_TX && flags != RTE_PDUMP_FLAG_RXTX) {
    throw Napi::RangeError::New(info.Env(), "direction must be 1 (rx), 2 (tx) or 3 (both)");
  }
  return flags;
}
}  // namespace

Napi::Value PdumpReady(const Napi::CallbackInfo& info) {
  RequireEal(info.Env());
  return Napi::Boolean::New(info.Env(), rte_memzone_lookup(kPdumpStatsZone) != nullptr);
}

// pdumpEnable(port, queue, direction, ringId, snaplen, filterId?)
Napi::Value PdumpEnable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  uint16_t port = ArgPort(info, 0);
  uint32_t queue = ArgU32(info, 1, "queue");
  uint32_t dir = ArgDirection(info, 2);
  auto ring = FindCaptureRing(ArgU32(info, 3, "ringId"));
  uint32_t snaplen = ArgU32(info, 4, "snaplen");
  if (!ring) Throw(env, "NO_SUCH_RING", "unknown capture ring id");
  const struct rte_bpf_prm* filter = nullptr;
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    filter = FindFilter(ArgU32(info, 5, "filterId"));
    if (filter == nullptr) Throw(env, "NO_SUCH_FILTER", "unknown filter id");
  }
  // The pcapng flag makes the primary stamp every copy with its capture time.
  // The primary loads its own copy of the filter before it answers.
  int ret = rte_pdump_enable_bpf(port, static_cast<uint16_t>(queue), dir | RTE_PDUMP_FLAG_PCAPNG, snaplen, ring->ring,
                                 ring->pool, filter);
  if (ret < 0) {
    int err = rte_errno;
    std::string where = "port " + std::to_string(port) + " queue " + std::to_string(queue) + (dir == RTE_PDUMP_FLAG_RX ? " rx" : " tx");
    if (err == EEXIST) {
      Throw(env, "CALLBACK_EXISTS",
            "another capture is already attached to " + where +
                " (a running capture tool, or one that was killed: run 'burstcap cleanup' to remove stale callbacks)",
            err);
    }
    Throw(env, "PDUMP_ENABLE_FAILED", "the primary refused to start capturing " + where + ": " + rte_strerror(err), err);
  }
  return env.Undefined();
}

Napi::Value PdumpDisable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  uint16_t port = ArgPort(info, 0);
  uint32_t queue = ArgU32(info, 1, "queue");
  uint32_t dir = ArgDirection(info, 2);
  int ret = rte_pdump_disable(port, static_cast<uint16_t>(queue), dir);
  if (ret < 0) {
    int err = rte_errno;
    Throw(env, "PDUMP_DISABLE_FAILED",
          "cannot remove the capture callback on port " + std::to_string(port) + " queue " + std::to_string(queue) + ": " +
              rte_strerror(err),
          err);
  }
  return env.Undefined();
}

// pdumpQueueStats(port, queue, direction 1|2)
Napi::Value PdumpQueueStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  uint16_t port = ArgPort(info, 0);
  uint32_t queue = ArgU32(info, 1, "queue");
  uint32_t dir = ArgDirection(info, 2);
  if (queue >= RTE_MAX_QUEUES_PER_PORT) throw Napi::RangeError::New(env, "queue out of range");
  const rte_memzone* mz = rte_memzone_lookup(kPdumpStatsZone);
  if (mz == nullptr || mz->len < sizeof(PdumpStatsZone)) {
    Throw(env, "PDUMP_NOT_INITIALISED", "the primary has no pdump statistics (rte_pdump_init() was not called)");
  }
  const auto* zone = static_cast<const PdumpStatsZone*>(mz->addr);
  return StatsObject(env, dir == RTE_PDUMP_FLAG_RX ? zone->rx[port][queue] : zone->tx[port][queue]);
}

}  // namespace burstcap
