#include "pdump.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_memzone.h>
#include <rte_pdump.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "capture_ring.h"
#include "dpdk_release.h"
#include "eal.h"
#include "errors.h"
#include "filter.h"
#include "pdump_request.h"

namespace burstcap {

namespace {
// rte_pdump_init() in the primary reserves this memzone; its absence is the
// one reliable sign, readable without a request, that the primary never did.
constexpr const char* kPdumpStatsZone = "rte_pdump_stats";

// Layout of that memzone in DPDK 22.11 and 24.11 (lib/pdump/rte_pdump.c):
// per-queue counters for rx, then for tx (24.11 adds the memzone pointer
// after them). Read directly for per-ring drop figures.
struct PdumpStatsZone {
  struct rte_pdump_stats rx[RTE_MAX_ETHPORTS][RTE_MAX_QUEUES_PER_PORT];
  struct rte_pdump_stats tx[RTE_MAX_ETHPORTS][RTE_MAX_QUEUES_PER_PORT];
};

// The primary's port id. Not checked against this process's ports: a port
// this process could not probe is still the primary's, with the same id (the
// index into the shared ethdev data and into the pdump statistics).
uint16_t ArgPort(const Napi::CallbackInfo& info, size_t i) {
  uint32_t port = ArgU32(info, i, "port");
  if (port >= RTE_MAX_ETHPORTS)
    Throw(info.Env(), "NO_SUCH_PORT", "port " + std::to_string(port) + " is out of DPDK's range");
  return static_cast<uint16_t>(port);
}

// The device name the primary knows the port by: what every pdump request
// carries, and all the primary needs to find the port.
std::string CheckDevice(Napi::Env env, const std::string& device) {
  if (device.empty() || device.size() >= RTE_DEV_NAME_MAX_LEN) {
    Throw(env, "NO_SUCH_PORT",
          "device name '" + device + "' is empty or longer than DPDK's " + std::to_string(RTE_DEV_NAME_MAX_LEN - 1) +
              " characters");
  }
  return device;
}

std::string where(uint16_t port, uint32_t queue, uint32_t dir) {
  return "port " + std::to_string(port) + " queue " + std::to_string(queue) +
         (dir == RTE_PDUMP_FLAG_RX ? " rx" : " tx");
}

uint32_t ArgDirection(const Napi::CallbackInfo& info, size_t i) {
  uint32_t flags = ArgU32(info, i, "direction");
  if (flags != RTE_PDUMP_FLAG_RX && flags != RTE_PDUMP_FLAG_TX && flags != RTE_PDUMP_FLAG_RXTX) {
    throw Napi::RangeError::New(info.Env(), "direction must be 1 (rx), 2 (tx) or 3 (both)");
  }
  return flags;
}

// Every callback this process asked the primary for and has not seen removed.
// An enable counts from the moment it is sent, since a request the primary did
// not answer in time may still be carried out when it gets to it. Only an
// answer takes an entry out: a refused enable, or an acknowledged disable. The
// last-resort path (EmergencyDisable) works from this list alone, whatever
// state JS is in.
//
// Keyed by (device name, queue, direction): the name is what each request
// carries and what the primary looks the port up by, so it names a callback
// the same way whether or not this process could probe the port. The port id
// (the primary's) rides along for messages and statistics only.
struct CallbackKey {
  std::string device;
  uint16_t queue = 0;
  uint32_t dir = 0;
  uint16_t port = 0;
  bool operator<(const CallbackKey& o) const {
    return std::tie(device, queue, dir) < std::tie(o.device, o.queue, o.dir);
  }
};
std::mutex g_callbacks_mutex;
std::set<CallbackKey> g_callbacks;

// DPDK 24.11's rte_pdump leaves a queue's counters as the last capture left
// them (22.11 zeroes them when the callback is enabled): the values before
// this process's enable, by (port, queue, direction).
constexpr bool kCountersZeroedOnEnable = !BURSTCAP_DPDK_24_11;
std::mutex g_baseline_mutex;
std::map<std::tuple<uint16_t, uint32_t, uint32_t>, std::array<uint64_t, 4>> g_baselines;

void TakeBaseline(uint16_t port, uint32_t queue, uint32_t dir) {
  if (kCountersZeroedOnEnable) return;
  const uint64_t* c = QueueCounters(port, queue, dir);
  std::array<uint64_t, 4> base = {};
  if (c != nullptr) {
    for (int i = 0; i < 4; i++) base[i] = __atomic_load_n(&c[i], __ATOMIC_RELAXED);
  }
  std::lock_guard<std::mutex> lock(g_baseline_mutex);
  g_baselines[{port, queue, dir}] = base;
}

void Track(const CallbackKey& k) {
  std::lock_guard<std::mutex> lock(g_callbacks_mutex);
  g_callbacks.insert(k);
}

void Untrack(const CallbackKey& k) {
  std::lock_guard<std::mutex> lock(g_callbacks_mutex);
  g_callbacks.erase(k);
}

std::vector<CallbackKey> Tracked() {
  std::lock_guard<std::mutex> lock(g_callbacks_mutex);
  return {g_callbacks.begin(), g_callbacks.end()};
}

// What one disable request came to. The primary answers every request it
// reads; rte_pdump_disable() reports a missing answer as ETIMEDOUT (after
// DPDK's fixed 5 s) or as the error of the send itself.
struct DisableResult {
  CallbackKey key;
  int err = 0;            // 0: removed
  bool answered = false;  // the primary read the request and replied
  bool sent = false;      // the request reached the primary's socket
};

// The primary's own replies: EINVAL for "no callback on that queue" or "no
// device of that name" (the direction was validated here first, and a request
// by name checks nothing else locally, so a local EINVAL cannot happen), or what
// rte_eth_remove_*_callback() returned (ENOTSUP, ENODEV: no callback can be
// there). Anything else is ETIMEDOUT or a failed send: no answer.
bool IsAnswer(int err) { return err == 0 || err == EINVAL || err == ENOTSUP || err == ENODEV; }

DisableResult DisableOne(const CallbackKey& k) {
  DisableResult r;
  r.key = k;
  // By name for every port: the very request rte_pdump_disable(port) sends,
  // minus its local port lookup, which fails for a port this process could
  // not probe although the primary has it.
  char device[RTE_DEV_NAME_MAX_LEN] = {};
  snprintf(device, sizeof(device), "%s", k.device.c_str());
  int ret = rte_pdump_disable_by_deviceid(device, k.queue, k.dir);
  r.err = ret < 0 ? rte_errno : 0;
  r.answered = IsAnswer(r.err);
  r.sent = r.answered || r.err == ETIMEDOUT;
  if (r.answered) Untrack(k);
  return r;
}

// The same request, delivered without waiting for the answer: the primary
// carries it out whenever it reads its socket (after a SIGCONT, say). Its
// reply then arrives for no pending request, which EAL drops.
DisableResult SendOnly(const CallbackKey& k) {
  DisableResult r;
  r.key = k;
  r.err = ETIMEDOUT;
  struct rte_mp_msg msg = {};
  auto* req = reinterpret_cast<PdumpRequest*>(msg.param);
  req->ver = kPdumpRequestV2;
  req->op = kPdumpOpDisable;
  req->flags = k.dir;
  req->queue = k.queue;
  snprintf(req->device, sizeof(req->device), "%s", k.device.c_str());
  snprintf(msg.name, sizeof(msg.name), "%s", kPdumpMpName);
  msg.len_param = sizeof(*req);
  if (rte_mp_sendmsg(&msg) == 0)
    r.sent = true;
  else
    r.err = rte_errno;
  return r;
}

// Requests go one at a time: EAL refuses a second pending request of the
// same name (EEXIST). Answers take well under a millisecond each from a
// running primary; one that lets a request time out is not reading its
// socket, and every later disable is then only delivered (SendOnly), so a
// stop costs DPDK's timeout once, not once per callback. Hurry() delivers
// whatever has not been sent yet at once.
struct DisableBatch {
  std::mutex mutex;
  std::vector<CallbackKey> keys;
  std::vector<DisableResult> results;
  size_t next = 0;
  bool hurry = false;
};

std::mutex g_batch_mutex;
std::shared_ptr<DisableBatch> g_batch;
std::atomic<int> g_requests_in_flight{0};

struct InFlight {
  InFlight() { g_requests_in_flight.fetch_add(1); }
  ~InFlight() { g_requests_in_flight.fetch_sub(1); }
};

void RunBatch(DisableBatch& b) {
  InFlight counted;
  for (;;) {
    size_t i;
    bool hurry;
    {
      std::lock_guard<std::mutex> lock(b.mutex);
      if (b.next >= b.keys.size()) return;
      i = b.next++;
      hurry = b.hurry;
    }
    DisableResult r = hurry ? SendOnly(b.keys[i]) : DisableOne(b.keys[i]);
    std::lock_guard<std::mutex> lock(b.mutex);
    b.results[i] = r;
    if (!r.answered) b.hurry = true;
  }
}

void HurryBatch(DisableBatch& b) {
  std::lock_guard<std::mutex> lock(b.mutex);
  b.hurry = true;
  for (; b.next < b.keys.size(); b.next++) b.results[b.next] = SendOnly(b.keys[b.next]);
}

std::vector<DisableResult> DisableAll(const std::vector<CallbackKey>& keys) {
  auto b = std::make_shared<DisableBatch>();
  b->keys = keys;
  b->results.resize(keys.size());
  for (size_t i = 0; i < keys.size(); i++) b->results[i].key = keys[i];
  {
    std::lock_guard<std::mutex> lock(g_batch_mutex);
    g_batch = b;
  }
  RunBatch(*b);
  std::lock_guard<std::mutex> lock(b->mutex);
  return b->results;
}

Napi::Object ResultObject(Napi::Env env, const DisableResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("port", Napi::Number::New(env, r.key.port));
  o.Set("device", Napi::String::New(env, r.key.device));
  o.Set("queue", Napi::Number::New(env, r.key.queue));
  o.Set("direction", Napi::Number::New(env, r.key.dir));
  o.Set("answered", Napi::Boolean::New(env, r.answered));
  o.Set("removed", Napi::Boolean::New(env, r.err == 0));
  o.Set("sent", Napi::Boolean::New(env, r.sent));
  o.Set("errno", Napi::Number::New(env, r.err));
  std::string message = r.err == 0   ? "removed"
                        : r.answered ? rte_strerror(r.err)
                        : r.sent     ? "no answer (the request waits in the primary's socket)"
                                     : std::string("not delivered: ") + rte_strerror(r.err);
  o.Set("message", Napi::String::New(env, message));
  return o;
}

class DisableWorker : public Napi::AsyncWorker {
 public:
  DisableWorker(Napi::Env env, std::vector<CallbackKey> keys)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), keys_(std::move(keys)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { results_ = DisableAll(keys_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) out.Set(static_cast<uint32_t>(i), ResultObject(env, results_[i]));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<CallbackKey> keys_;
  std::vector<DisableResult> results_;
};
}  // namespace

Napi::Value PdumpReady(const Napi::CallbackInfo& info) {
  RequireEal(info.Env());
  return Napi::Boolean::New(info.Env(), rte_memzone_lookup(kPdumpStatsZone) != nullptr);
}

// pdumpEnable(port, device, queue, direction, ringId, snaplen, filterId?)
Napi::Value PdumpEnable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  uint16_t port = ArgPort(info, 0);
  std::string device = CheckDevice(env, ArgString(info, 1, "device"));
  uint32_t queue = ArgU32(info, 2, "queue");
  uint32_t dir = ArgDirection(info, 3);
  auto ring = FindCaptureRing(ArgU32(info, 4, "ringId"));
  uint32_t snaplen = ArgU32(info, 5, "snaplen");
  if (!ring) Throw(env, "NO_SUCH_RING", "unknown capture ring id");
  if (queue >= RTE_MAX_QUEUES_PER_PORT) throw Napi::RangeError::New(env, "queue out of range");
  const struct rte_bpf_prm* filter = nullptr;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    filter = FindFilter(ArgU32(info, 6, "filterId"));
    if (filter == nullptr) Throw(env, "NO_SUCH_FILTER", "unknown filter id");
  }
  // The pcapng flag makes the primary stamp every copy with its capture time.
  // The primary loads its own copy of the filter before it answers. By name,
  // for every port: the primary finds the port, so this process need not
  // have probed it (DPDK 22.11 and 24.11 hand secondaries vdev arguments cut at 63
  // characters, and such a port cannot be opened here at all).
  CallbackKey key{device, static_cast<uint16_t>(queue), dir, port};
  // No callback of ours counts on this queue yet (a second one would be refused).
  TakeBaseline(port, queue, dir);
  Track(key);
  int ret = rte_pdump_enable_bpf_by_deviceid(device.c_str(), static_cast<uint16_t>(queue), dir | RTE_PDUMP_FLAG_PCAPNG,
                                             snaplen, ring->ring, ring->pool, filter);
  if (ret < 0) {
    int err = rte_errno;
    // A refusal is an answer: nothing of ours is installed there. A request
    // that got no answer stays tracked: the primary may still carry it out.
    if (err != ETIMEDOUT) Untrack(key);
    if (err == ETIMEDOUT) {
      Throw(env, "PRIMARY_NO_ANSWER",
            "the primary did not answer the request to start capturing " + where(port, queue, dir) +
                " within DPDK's 5 s (is it stopped, traced or busy?)",
            err);
    }
    if (err == EEXIST) {
      Throw(env, "CALLBACK_EXISTS",
            "another capture is already attached to " + where(port, queue, dir) +
                " (a running capture tool, or one that was killed: run 'burstcap cleanup' to remove stale callbacks)",
            err);
    }
    Throw(env, "PDUMP_ENABLE_FAILED",
          "the primary refused to start capturing " + where(port, queue, dir) + ": " + rte_strerror(err), err);
  }
  return env.Undefined();
}

// pdumpDisable([{port, device, queue, direction}]) -> Promise<[{port, device,
// queue, direction, answered, removed, errno, message}]>: all requests at
// once, off the JS thread.
Napi::Value PdumpDisable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  if (info.Length() < 1 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "pdumpDisable([{ port, device, queue, direction }])");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<CallbackKey> keys;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject())
      throw Napi::TypeError::New(env, "pdumpDisable: each entry is { port, device, queue, direction }");
    Napi::Object o = v.As<Napi::Object>();
    uint32_t port = o.Get("port").ToNumber().Uint32Value();
    Napi::Value dev = o.Get("device");
    if (!dev.IsString()) throw Napi::TypeError::New(env, "pdumpDisable: device must be the port's device name");
    std::string device = CheckDevice(env, dev.As<Napi::String>().Utf8Value());
    uint32_t queue = o.Get("queue").ToNumber().Uint32Value();
    uint32_t dir = o.Get("direction").ToNumber().Uint32Value();
    if (port >= RTE_MAX_ETHPORTS)
      Throw(env, "NO_SUCH_PORT", "port " + std::to_string(port) + " is out of DPDK's range");
    if (queue >= RTE_MAX_QUEUES_PER_PORT) throw Napi::RangeError::New(env, "queue out of range");
    if (dir != RTE_PDUMP_FLAG_RX && dir != RTE_PDUMP_FLAG_TX)
      throw Napi::RangeError::New(env, "direction must be 1 (rx) or 2 (tx)");
    keys.push_back(CallbackKey{device, static_cast<uint16_t>(queue), dir, static_cast<uint16_t>(port)});
  }
  auto* worker = new DisableWorker(env, std::move(keys));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// pdumpTracked() -> [{port, device, queue, direction}]: callbacks that may still be installed.
Napi::Value PdumpTracked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto keys = Tracked();
  Napi::Array out = Napi::Array::New(env, keys.size());
  for (size_t i = 0; i < keys.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("port", Napi::Number::New(env, keys[i].port));
    o.Set("device", Napi::String::New(env, keys[i].device));
    o.Set("queue", Napi::Number::New(env, keys[i].queue));
    o.Set("direction", Napi::Number::New(env, keys[i].dir));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

// pdumpHurry(): delivers every disable of the running batch not sent yet,
// without waiting for answers (a second Ctrl-C stops waiting, never sending).
Napi::Value PdumpHurry(const Napi::CallbackInfo& info) {
  std::shared_ptr<DisableBatch> b;
  {
    std::lock_guard<std::mutex> lock(g_batch_mutex);
    b = g_batch;
  }
  if (b) HurryBatch(*b);
  return info.Env().Undefined();
}

bool PdumpRequestsInFlight() { return g_requests_in_flight.load() > 0; }

int EmergencyDisable() {
  if (!EalAttached()) return 0;
  auto keys = Tracked();
  if (keys.empty()) return 0;
  int unanswered = 0;
  for (const auto& r : DisableAll(keys)) unanswered += r.answered ? 0 : 1;
  return unanswered;
}

// pdumpEmergencyDisable() -> number of requests the primary did not answer.
// Synchronous, for the last-resort paths (an uncaught exception, process exit):
// nothing else may still be trusted there.
Napi::Value PdumpEmergencyDisable(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), EmergencyDisable());
}

// pdumpQueueStats(port, queue, direction 1|2). The memzone is indexed by the
// primary's port id, so this holds for ports this process could not probe too.
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
  uint64_t c[4] = {};
  if (!CaptureCounters(port, queue, dir, c)) {
    Throw(env, "PDUMP_NOT_INITIALISED", "the primary has no pdump statistics (rte_pdump_init() was not called)");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("accepted", Napi::Number::New(env, static_cast<double>(c[0])));
  o.Set("filtered", Napi::Number::New(env, static_cast<double>(c[1])));
  o.Set("nombuf", Napi::Number::New(env, static_cast<double>(c[2])));
  o.Set("ringfull", Napi::Number::New(env, static_cast<double>(c[3])));
  return o;
}

}  // namespace burstcap

namespace burstcap {

const uint64_t* QueueCounters(uint16_t port, uint32_t queue, uint32_t direction) {
  if (port >= RTE_MAX_ETHPORTS || queue >= RTE_MAX_QUEUES_PER_PORT) return nullptr;
  const rte_memzone* mz = rte_memzone_lookup(kPdumpStatsZone);
  if (mz == nullptr || mz->len < sizeof(PdumpStatsZone)) return nullptr;
  const auto* zone = static_cast<const PdumpStatsZone*>(mz->addr);
  const struct rte_pdump_stats& s = direction == RTE_PDUMP_FLAG_RX ? zone->rx[port][queue] : zone->tx[port][queue];
  static_assert(offsetof(struct rte_pdump_stats, ringfull) == 3 * sizeof(uint64_t),
                "accepted, filtered, nombuf, ringfull in a row");
  return reinterpret_cast<const uint64_t*>(&s);
}

bool CaptureCounters(uint16_t port, uint32_t queue, uint32_t direction, uint64_t out[4]) {
  const uint64_t* c = QueueCounters(port, queue, direction);
  if (c == nullptr) return false;
  std::array<uint64_t, 4> base = {};
  if (!kCountersZeroedOnEnable) {
    std::lock_guard<std::mutex> lock(g_baseline_mutex);
    auto it = g_baselines.find({port, queue, direction});
    if (it != g_baselines.end()) base = it->second;
  }
  for (int i = 0; i < 4; i++) {
    uint64_t now = __atomic_load_n(&c[i], __ATOMIC_RELAXED);
    out[i] = now >= base[i] ? now - base[i] : now;
  }
  return true;
}

}  // namespace burstcap
