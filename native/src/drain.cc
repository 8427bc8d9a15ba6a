// The hot loop: one call per worker thread, which owns one ring for the whole
// capture. Dequeue a burst, unwrap each copy, write it, free the burst, repeat.
// JS never sees a packet; it reads progress from a SharedArrayBuffer.
#include "drain.h"

#include <errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <string.h>
#include <time.h>

#include <atomic>

#include "capture_ring.h"
#include "errors.h"
#include "pcap_writer.h"

namespace burstcap {

namespace {

constexpr unsigned kBurst = 256;
// Below this many empty polls in a row the loop only pauses; then it sleeps,
// so an idle capture does not hold a core at 100%.
constexpr unsigned kSpinPolls = 64;
constexpr long kIdleSleepNs = 50 * 1000;
// Data written to the file at least this often when traffic is slow, so a
// reader (or a kill -9) sees recent packets.
constexpr uint64_t kIdleFlushNs = 100 * 1000 * 1000;
// Any epoch time since 2001 in ns exceeds this; a TSC reading would need
// years of uptime to reach it. DPDK 22.11 stamps copies in ns, later
// releases in TSC cycles: both are read correctly.
constexpr uint64_t kNanosecondThreshold = 1000000000000000000ull;
constexpr int kVdevTxRetries = 64;
// A primary's own ns clock further than this from ours is wrong, not late:
// DPDK 22.11's rte_pcapng starts its clock after the first burst's TSC
// reading was taken, and the negative delta shifts every later stamp by
// years. Then all rings shift back by one offset measured on the first copy.
constexpr int64_t kMaxClockSkewNs = 60ll * 1000000000ll;
constexpr int64_t kOffsetUndecided = INT64_MIN;

// Slots shared by every worker of one capture (src/workers/control.ts).
enum SharedSlot : size_t {
  kQuota = 0,        // packets left for -c; -1 means no limit
  kClockOffset = 1,  // ns added to the primary's stamps; kOffsetUndecided until the first copy
  kSharedSlotCount = 2,
};

// Control block layout, shared with src/workers/drain.ts (DrainSlot there).
enum Slot : size_t {
  kControl = 0,    // written by main: 0 run, 1 finish (drain what is queued), 2 abort
  kPackets = 1,    // records written
  kBytes = 2,      // captured bytes written
  kWireBytes = 3,  // original lengths
  kBursts = 4,
  kErrno = 5,
  kMalformed = 6,  // copies that were not pcapng blocks
  kOverQuota = 7,  // copies freed unwritten because -c was reached
  kQueued = 8,     // ring fill seen at the last poll
  kPolling = 9,    // 1 once the output is open and the loop runs: callbacks may start
  kSlotCount = 10,
};
enum Control : int64_t { kRun = 0, kFinish = 1, kAbort = 2 };

// The enhanced packet block rte_pcapng_copy() puts in front of every copy.
struct EnhancedPacketBlock {
  uint32_t block_type;
  uint32_t block_length;
  uint32_t interface_id;
  uint32_t timestamp_hi;
  uint32_t timestamp_lo;
  uint32_t capture_length;
  uint32_t original_length;
};
constexpr uint32_t kEpbType = 0x00000006;
static_assert(sizeof(EnhancedPacketBlock) == 28, "pcapng EPB header is 28 bytes");

uint64_t WallNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Clock {
  uint64_t tsc = 0;
  uint64_t ns = 0;
  uint64_t hz = 0;
  std::atomic<int64_t>* offset = nullptr;  // shared by all rings
  int64_t cached = kOffsetUndecided;

  uint64_t FixPrimaryNs(uint64_t stamp) {
    if (cached == kOffsetUndecided) {
      int64_t candidate = static_cast<int64_t>(WallNs() - stamp);
      if (candidate < kMaxClockSkewNs && candidate > -kMaxClockSkewNs) candidate = 0;
      int64_t expected = kOffsetUndecided;
      offset->compare_exchange_strong(expected, candidate);
      cached = offset->load();
    }
    return stamp + static_cast<uint64_t>(cached);
  }

  uint64_t ToNs(uint64_t stamp) {
    if (stamp >= kNanosecondThreshold) return FixPrimaryNs(stamp);
    if (hz == 0) return stamp;
    // Split to avoid overflowing 64 bits for captures longer than seconds.
    int64_t delta = static_cast<int64_t>(stamp - tsc);
    bool negative = delta < 0;
    uint64_t d = negative ? static_cast<uint64_t>(-delta) : static_cast<uint64_t>(delta);
    uint64_t off = (d / hz) * 1000000000ull + ((d % hz) * 1000000000ull) / hz;
    return negative ? ns - off : ns + off;
  }
};

struct Packet {
  uint64_t ts_ns;
  uint32_t caplen;
  uint32_t origlen;
};

// Reads the block header in front of the copy. The header sits in the first
// segment (rte_pktmbuf_prepend), the packet follows, chained if it is large.
bool Unwrap(const rte_mbuf* m, Clock& clock, Packet* out) {
  if (m->data_len < sizeof(EnhancedPacketBlock)) return false;
  const auto* epb = rte_pktmbuf_mtod(m, const EnhancedPacketBlock*);
  if (epb->block_type != kEpbType || epb->capture_length > m->pkt_len - sizeof(EnhancedPacketBlock)) return false;
  out->ts_ns = clock.ToNs((static_cast<uint64_t>(epb->timestamp_hi) << 32) | epb->timestamp_lo);
  out->caplen = epb->capture_length;
  out->origlen = epb->original_length;
  return true;
}

void WritePacket(PcapWriter& w, const rte_mbuf* m, const Packet& p) {
  if (!w.Begin(p.ts_ns, p.caplen, p.origlen)) return;
  uint32_t left = p.caplen;
  uint32_t offset = sizeof(EnhancedPacketBlock);
  for (const rte_mbuf* seg = m; seg != nullptr && left > 0; seg = seg->next) {
    if (offset >= seg->data_len) {
      offset -= seg->data_len;
      continue;
    }
    uint32_t take = seg->data_len - offset;
    if (take > left) take = left;
    w.Append(rte_pktmbuf_mtod_offset(seg, const uint8_t*, offset), take);
    left -= take;
    offset = 0;
  }
}

// Turns the copy back into the plain frame for a net_pcap vdev: drop the
// block header and the trailing options (all appended to the last segment).
bool StripBlock(rte_mbuf* m, uint32_t caplen) {
  if (rte_pktmbuf_adj(m, sizeof(EnhancedPacketBlock)) == nullptr) return false;
  uint32_t excess = m->pkt_len - caplen;
  return excess == 0 || rte_pktmbuf_trim(m, static_cast<uint16_t>(excess)) == 0;
}

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Takes up to `want` packets from the shared -c quota; -1 means no limit.
unsigned TakeQuota(std::atomic<int64_t>* quota, unsigned want) {
  int64_t cur = quota->load(std::memory_order_relaxed);
  while (true) {
    if (cur < 0) return want;
    if (cur == 0) return 0;
    int64_t take = cur < want ? cur : want;
    if (quota->compare_exchange_weak(cur, cur - take, std::memory_order_relaxed)) return static_cast<unsigned>(take);
  }
}

// The control block arrives as a BigInt64Array over a SharedArrayBuffer
// (N-API cannot take a SharedArrayBuffer itself, but can take a view of one).
std::atomic<int64_t>* SlotsOf(const Napi::Value& v, size_t min_slots, Napi::Env env) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
    throw Napi::TypeError::New(env, "control must be a BigInt64Array over a SharedArrayBuffer");
  }
  auto view = v.As<Napi::BigInt64Array>();
  if (view.ElementLength() < min_slots) throw Napi::RangeError::New(env, "control block too small");
  static_assert(sizeof(std::atomic<int64_t>) == sizeof(int64_t), "lock-free 64-bit atomics");
  return reinterpret_cast<std::atomic<int64_t>*>(view.Data());
}

uint64_t BigIntProp(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBigInt()) return 0;
  bool lossless = true;
  return v.As<Napi::BigInt>().Uint64Value(&lossless);
}

// Clears the draining mark however the loop ends.
struct DrainingMark {
  CaptureRing* ring;
  ~DrainingMark() { ring->draining.store(false); }
};

}  // namespace

// drain(ringId, { path?: string, snaplen?: number, mode?: number, exclusive?: boolean, vdevPort?: number, clock: {tsc,ns,hz} }, control: BigInt64Array, shared: BigInt64Array)
Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0, "ringId");
  if (info.Length() < 4 || !info[1].IsObject()) throw Napi::TypeError::New(env, "drain(ringId, options, control, shared)");
  Napi::Object opts = info[1].As<Napi::Object>();
  std::atomic<int64_t>* slots = SlotsOf(info[2], kSlotCount, env);
  std::atomic<int64_t>* shared = SlotsOf(info[3], kSharedSlotCount, env);
  std::atomic<int64_t>* quota = &shared[kQuota];

  std::shared_ptr<CaptureRing> ring = FindCaptureRing(id);
  if (!ring) Throw(env, "NO_SUCH_RING", "unknown capture ring id " + std::to_string(id));
  bool expected = false;
  if (!ring->draining.compare_exchange_strong(expected, true)) Throw(env, "RING_IN_USE", "ring " + ring->ring_name + " already has a worker");
  DrainingMark mark{ring.get()};

  Clock clock;
  if (opts.Get("clock").IsObject()) {
    Napi::Object c = opts.Get("clock").As<Napi::Object>();
    clock.tsc = BigIntProp(c, "tsc");
    clock.ns = BigIntProp(c, "ns");
    clock.hz = BigIntProp(c, "hz");
  }
  clock.offset = &shared[kClockOffset];
  bool to_vdev = opts.Get("vdevPort").IsNumber();
  uint16_t vdev_port = to_vdev ? static_cast<uint16_t>(opts.Get("vdevPort").As<Napi::Number>().Uint32Value()) : 0;
  PcapWriter writer;
  writer.SetCancel(&slots[kControl], kAbort);
  std::string path;
  if (!to_vdev) {
    if (!opts.Get("path").IsString()) throw Napi::TypeError::New(env, "options.path or options.vdevPort is required");
    path = opts.Get("path").As<Napi::String>().Utf8Value();
    uint32_t snaplen = opts.Get("snaplen").IsNumber() ? opts.Get("snaplen").As<Napi::Number>().Uint32Value() : 0;
    // A part of a merged output is a temporary file: it must be new.
    bool exclusive = opts.Get("exclusive").ToBoolean().Value();
    if (!writer.Open(path, snaplen == 0 ? kPcapSnaplen : snaplen, FileModeOption(opts), exclusive)) {
      if (writer.error() == ECANCELED) {
        Throw(env, "OUTPUT_NO_READER", "stopped while waiting for a process to open " + path + " for reading", writer.error());
      }
      Throw(env, "OUTPUT_OPEN_FAILED", writer.OpenFailure(), writer.error());
    }
  }

  rte_mbuf* pkts[kBurst];
  rte_mbuf* send[kBurst];
  unsigned empty_polls = 0;
  uint64_t last_flush = NowNs();
  int64_t packets = 0, bytes = 0, wire = 0, bursts = 0, malformed = 0, over_quota = 0;

  // Only now may the main thread enable the callbacks: opening the output
  // can take long (O_TRUNC of a large file), and copies made before the
  // first poll would overflow the ring.
  slots[kPolling].store(1, std::memory_order_release);
  while (true) {
    int64_t control = slots[kControl].load(std::memory_order_acquire);
    if (control == kAbort) break;
    unsigned available = 0;
    unsigned n = rte_ring_sc_dequeue_burst(ring->ring, reinterpret_cast<void**>(pkts), kBurst, &available);
    slots[kQueued].store(available, std::memory_order_relaxed);
    if (n == 0) {
      // Finish only once the ring is empty: the callbacks were disabled first.
      if (control == kFinish) break;
      if (writer.has_unflushed() && NowNs() - last_flush >= kIdleFlushNs) {
        writer.Flush();
        last_flush = NowNs();
      }
      if (++empty_polls < kSpinPolls) {
        rte_pause();
      } else {
        struct timespec nap = {0, kIdleSleepNs};
        nanosleep(&nap, nullptr);
      }
      if (writer.error() != 0) break;
      continue;
    }
    empty_polls = 0;
    bursts++;
    unsigned allowed = TakeQuota(quota, n);
    unsigned to_send = 0;
    for (unsigned i = 0; i < allowed; i++) {
      Packet p;
      if (!Unwrap(pkts[i], clock, &p)) {
        malformed++;
        continue;
      }
      if (to_vdev) {
        if (StripBlock(pkts[i], p.caplen)) {
          send[to_send++] = pkts[i];
          pkts[i] = nullptr;  // ownership passes to the vdev
        } else {
          malformed++;
          continue;
        }
      } else {
        WritePacket(writer, pkts[i], p);
      }
      packets++;
      bytes += p.caplen;
      wire += p.origlen;
    }
    over_quota += n - allowed;
    if (to_vdev && to_send > 0) {
      unsigned sent = 0;
      for (int tries = 0; sent < to_send && tries < kVdevTxRetries; tries++) {
        sent += rte_eth_tx_burst(vdev_port, 0, send + sent, static_cast<uint16_t>(to_send - sent));
      }
      if (sent < to_send) {
        packets -= to_send - sent;
        rte_pktmbuf_free_bulk(send + sent, to_send - sent);
      }
    }
    // Copies handed to the vdev were nulled above; free the rest of the burst.
    unsigned kept = 0;
    for (unsigned i = 0; i < n; i++) {
      if (pkts[i] != nullptr) pkts[kept++] = pkts[i];
    }
    rte_pktmbuf_free_bulk(pkts, kept);
    slots[kPackets].store(packets, std::memory_order_relaxed);
    slots[kBytes].store(bytes, std::memory_order_relaxed);
    slots[kWireBytes].store(wire, std::memory_order_relaxed);
    slots[kBursts].store(bursts, std::memory_order_relaxed);
    slots[kMalformed].store(malformed, std::memory_order_relaxed);
    slots[kOverQuota].store(over_quota, std::memory_order_relaxed);
    if (writer.error() != 0) break;
  }

  if (!to_vdev) writer.Close();
  // Report what the file really holds: a failed flush cuts back to the last
  // whole record on disk.
  if (!to_vdev) {
    packets = static_cast<int64_t>(writer.records());
    bytes = static_cast<int64_t>(writer.packet_bytes());
  }
  slots[kPackets].store(packets, std::memory_order_relaxed);
  slots[kBytes].store(bytes, std::memory_order_relaxed);
  slots[kWireBytes].store(wire, std::memory_order_relaxed);
  slots[kMalformed].store(malformed, std::memory_order_relaxed);
  slots[kOverQuota].store(over_quota, std::memory_order_relaxed);
  if (writer.error() != 0) {
    int err = writer.error();
    slots[kErrno].store(err, std::memory_order_relaxed);
    Throw(env, "WRITE_FAILED", "writing " + path + " failed: " + strerror(err), err);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("packets", Napi::Number::New(env, static_cast<double>(packets)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
  out.Set("wireBytes", Napi::Number::New(env, static_cast<double>(wire)));
  out.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed)));
  out.Set("overQuota", Napi::Number::New(env, static_cast<double>(over_quota)));
  return out;
}

}  // namespace burstcap
