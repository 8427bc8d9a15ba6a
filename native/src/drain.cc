// The hot loop: one call per worker thread, which owns one ring for the whole
// capture. Dequeue a burst, unwrap each copy, write it, free the burst, repeat.
// JS never sees a packet; it reads progress from a SharedArrayBuffer.
// An output fed live by several rings (a stream, a FIFO, a rotating merged
// file) is shared by their workers: each writes its bursts under the
// output's lock, and the last one to finish closes it.
#include "drain.h"

#include <errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stddef.h>
#include <unistd.h>

#include "capture_ring.h"
#include "control_layout.h"
#include "dpdk_release.h"
#include "errors.h"
#include "pcap_writer.h"
#include "pcapng_writer.h"
#include "pdump.h"

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
// years of uptime to reach it. DPDK 22.11 stamps copies in ns (the TSC
// cycles its pdump reads are converted by rte_pcapng's clock), 24.11 in TSC
// cycles (dpdk_release.h): there every stamp is cycles.
constexpr uint64_t kNanosecondThreshold = 1000000000000000000ull;
constexpr int kVdevTxRetries = 64;
// A primary's own ns clock further than this from ours is wrong, not late:
// DPDK 22.11's rte_pcapng starts its clock after the first burst's TSC
// reading was taken, and the negative delta shifts every later stamp by
// years. Then all rings shift back by one offset measured on the first copy.
// 24.11 stamps raw cycles, converted here with the clock reference taken at
// attach: no primary clock, nothing to repair.
constexpr int64_t kMaxClockSkewNs = 60ll * 1000000000ll;

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
    // Only 22.11's stamps need telling apart (ns from its pcapng clock).
    if (!kCopiesStampedInTsc && stamp >= kNanosecondThreshold) return FixPrimaryNs(stamp);
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

template <typename Writer>
void AppendPacket(Writer& w, const rte_mbuf* m, const Packet& p) {
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

// The record's size in the file: what a file size limit adds up.
constexpr size_t kPcapngRecordOverhead = kEpbHeader + kEpbTail + 3;

// Files closed by each ring's loop, until the main thread collects them
// (drainClosedFiles): it runs --post-rotate on each, off the worker.
std::mutex closed_mutex;
std::map<uint32_t, std::vector<std::string>> closed_files;

void ReportClosed(uint32_t ring_id, const std::string& path) {
  std::lock_guard<std::mutex> lock(closed_mutex);
  closed_files[ring_id].push_back(path);
}

// The file each output writes now, under the ring id that opened it, for the
// live view (drainCurrentFile). A lock of its own, never the output's: the
// main thread must not wait on a worker blocked in a write. Its size is the
// opener's kFileBytes slot.
std::mutex current_mutex;
std::map<uint32_t, std::string> current_files;

void ReportCurrent(uint32_t ring_id, const std::string& path) {
  std::lock_guard<std::mutex> lock(current_mutex);
  current_files[ring_id] = path;
}

void ForgetCurrent(uint32_t ring_id) {
  std::lock_guard<std::mutex> lock(current_mutex);
  current_files.erase(ring_id);
}

// Rotation as dumpcap spells it (-b): any limit that is set ends a file.
struct Rotation {
  uint64_t file_bytes = 0;
  uint64_t packets = 0;
  uint64_t duration_ns = 0;
  uint64_t interval_ns = 0;
  uint64_t start_ns = 0;   // the capture's start: every output's duration boundaries count from it
  uint32_t ring = 0;       // -b files: keep only the newest this many files
  uint32_t max_files = 0;  // -a files: write no more than this many
  bool on() const { return file_bytes != 0 || packets != 0 || duration_ns != 0 || interval_ns != 0; }
};

// <dir>/<stem>_<nnnnn>_<YYYYmmddHHMMSS>.<ext>, dumpcap's names: they sort
// in capture order (the number first, then the local time it was opened).
std::string RotatedName(const std::string& base, uint32_t seq, uint64_t wall_ns) {
  size_t slash = base.rfind('/');
  size_t dot = base.rfind('.');
  bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  std::string stem = has_ext ? base.substr(0, dot) : base;
  std::string ext = has_ext ? base.substr(dot) : "";
  time_t secs = static_cast<time_t>(wall_ns / 1000000000ull);
  struct tm tm;
  localtime_r(&secs, &tm);
  char stamp[64];
  snprintf(stamp, sizeof(stamp), "_%05u_%04d%02d%02d%02d%02d%02d", seq, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec);
  return stem + stamp + ext;
}

// What one ring's records carry in a pcapng file: its port's interface, its
// direction flag and its queue.
struct RecordTag {
  uint32_t interface_id = 0, flags = 0, queue = 0;
};

// A ring's queue counters in the primary, for its interface's statistics block.
struct StatsSource {
  uint32_t interface_id = 0;
  uint16_t port = 0;
  uint32_t queue = 0, direction = 0;
};

// The file side of one or more rings: pcap or pcapng, one file or a rotating set.
class Output {
 public:
  bool pcapng = false;
  PcapWriter pcap;
  PcapngWriter ng;
  PcapngSection section;
  std::vector<PcapngInterface> interfaces;
  uint32_t snaplen = kPcapSnaplen;
  mode_t mode = kPrivateFileMode;
  bool exclusive = false;
  std::string base;
  Rotation rot;
  uint32_t ring_id = 0;
  std::atomic<int64_t>* slots = nullptr;
  // The primary's counters of each ring's queue, summed per interface in the statistics blocks.
  std::vector<StatsSource> stats;

  // Totals of the files already closed, for the worker's result.
  uint64_t closed_records = 0, closed_bytes = 0;
  uint32_t files = 0;                                  // files opened so far
  std::vector<std::pair<std::string, uint64_t>> done;  // (path, records)

  int error() const { return pcapng ? ng.error() : pcap.error(); }
  std::string OpenFailure() const { return pcapng ? ng.OpenFailure() : pcap.OpenFailure(); }
  const std::string& path() const { return pcapng ? ng.path() : pcap.path(); }
  bool has_unflushed() const { return pcapng ? ng.has_unflushed() : pcap.has_unflushed(); }
  uint64_t size() const { return pcapng ? ng.size() : pcap.size(); }
  uint64_t records() const { return closed_records + (open_ ? (pcapng ? ng.records() : pcap.records()) : 0); }
  uint64_t packet_bytes() const {
    return closed_bytes + (open_ ? (pcapng ? ng.packet_bytes() : pcap.packet_bytes()) : 0);
  }
  void Flush() { pcapng ? ng.Flush() : pcap.Flush(); }
  void SetCancel(const std::atomic<int64_t>* slot, int64_t value) {
    pcap.SetCancel(slot, value);
    ng.SetCancel(slot, value);
  }

  bool Open(uint64_t wall_ns) {
    uint32_t seq = ++files;
    std::string path = rot.on() ? RotatedName(base, seq, wall_ns) : base;
    start_ns_ = wall_ns;
    in_file_ = 0;
    next_boundary_ = NextBoundary(wall_ns);
    bool ok = pcapng ? ng.Open(path, section, interfaces, mode, exclusive) : pcap.Open(path, snaplen, mode, exclusive);
    if (!ok) return false;
    open_ = true;
    ReportCurrent(ring_id, path);
    if (rot.on()) {
      kept_.push_back(path);
      // The ring buffer: the oldest file goes once a newer one is open.
      while (rot.ring != 0 && kept_.size() > rot.ring) {
        unlink(kept_.front().c_str());
        kept_.pop_front();
      }
    }
    slots[kFileBytes].store(static_cast<int64_t>(size()), std::memory_order_relaxed);
    return true;
  }

  // True when the record about to be written must start a new file.
  bool MustRotate(uint64_t ts_ns, uint32_t caplen) const {
    if (!rot.on() || in_file_ == 0) return false;
    if (rot.packets != 0 && in_file_ >= rot.packets) return true;
    if (rot.file_bytes != 0) {
      uint64_t record = caplen + (pcapng ? kPcapngRecordOverhead : kPcapRecordHeader);
      // The statistics blocks that close a pcapng file count too: the limit
      // is the whole file's. Their size does not depend on the counters.
      static const uint64_t kStatsBlockBytes = PcapngStatsBlock(PcapngStats{}).size();
      uint64_t trailer = pcapng ? kStatsBlockBytes * StatsInterfaces().size() : 0;
      if (size() + record + trailer > rot.file_bytes) return true;
    }
    return next_boundary_ != 0 && ts_ns >= next_boundary_;
  }

  // An idle output still ends its file at a time boundary.
  bool TimeIsUp(uint64_t wall_ns) const { return rot.on() && next_boundary_ != 0 && wall_ns >= next_boundary_; }

  // -a files: the last file allowed stays open and takes the packets that
  // arrive until the main thread, told through kFilesFull, stops the
  // capture (within its 100 ms poll): none is dropped for it.
  bool Full() const { return rot.max_files != 0 && files >= rot.max_files; }

  // Ends the file: statistics block (pcapng), close, report it closed.
  bool Close(uint64_t wall_ns) {
    if (!open_) return error() == 0;
    if (pcapng) {
      for (uint32_t iface : StatsInterfaces()) {
        PcapngStats st;
        st.interface_id = iface;
        st.start_ns = start_ns_;
        st.end_ns = wall_ns;
        for (const StatsSource& src : stats) {
          if (src.interface_id != iface) continue;
          uint64_t now[4] = {};
          if (!CaptureCounters(src.port, src.queue, src.direction, now)) continue;
          uint64_t drop = now[2] + now[3];
          st.ifdrop += drop;
          st.filteraccept += now[0] + drop;
          st.ifrecv += now[0] + drop + now[1];
        }
        ng.WriteStats(st);
      }
    }
    bool ok = pcapng ? ng.Close() : pcap.Close();
    uint64_t recs = pcapng ? ng.records() : pcap.records();
    closed_records += recs;
    closed_bytes += pcapng ? ng.packet_bytes() : pcap.packet_bytes();
    open_ = false;
    done.emplace_back(path(), recs);
    if (rot.on()) {
      ReportClosed(ring_id, path());
      slots[kFilesClosed].store(static_cast<int64_t>(done.size()), std::memory_order_relaxed);
    }
    return ok;
  }

  // Called when a limit is reached: the next file, or the stop signal.
  bool Rotate(uint64_t wall_ns) {
    if (Full()) {
      slots[kFilesFull].store(1, std::memory_order_relaxed);
      return true;
    }
    if (!Close(wall_ns)) return false;
    return Open(wall_ns);
  }

  // One record, whole: the rotation check happens before it, never inside it.
  void Write(const rte_mbuf* m, const Packet& p, const RecordTag& tag) {
    if (pcapng) {
      if (!ng.Begin(tag.interface_id, p.ts_ns, p.caplen, p.origlen, tag.flags, tag.queue)) return;
      AppendPacket(ng, m, p);
      ng.End();
    } else {
      if (!pcap.Begin(p.ts_ns, p.caplen, p.origlen)) return;
      AppendPacket(pcap, m, p);
    }
    in_file_++;
  }

  void Publish() { slots[kFileBytes].store(static_cast<int64_t>(size()), std::memory_order_relaxed); }

 private:
  // The interfaces with counters, each once, in the order their rings joined.
  std::vector<uint32_t> StatsInterfaces() const {
    std::vector<uint32_t> ids;
    for (const StatsSource& src : stats) {
      if (std::find(ids.begin(), ids.end(), src.interface_id) == ids.end()) ids.push_back(src.interface_id);
    }
    return ids;
  }

  uint64_t NextBoundary(uint64_t wall_ns) const {
    uint64_t next = 0;
    if (rot.duration_ns != 0) {
      // Counted from the capture's start, so every output switches together.
      uint64_t start = rot.start_ns != 0 && rot.start_ns <= wall_ns ? rot.start_ns : wall_ns;
      next = start + ((wall_ns - start) / rot.duration_ns + 1) * rot.duration_ns;
    }
    if (rot.interval_ns != 0) {
      // Wall-clock aligned: every multiple of the interval since the epoch.
      uint64_t at = (wall_ns / rot.interval_ns + 1) * rot.interval_ns;
      if (next == 0 || at < next) next = at;
    }
    return next;
  }

  bool open_ = false;
  uint64_t start_ns_ = 0;
  uint64_t in_file_ = 0;
  uint64_t next_boundary_ = 0;
  std::deque<std::string> kept_;
};

// An output and the rings that write it. A ring's own file is one of these
// with one user; a live merged output has one per ring. The lock is taken
// once per burst (uncontended for a ring's own file: tens of ns per burst).
struct SharedOutput {
  std::mutex mu;
  Output out;
  uint32_t expected = 1;  // rings that will write it
  uint32_t joined = 0;
  uint32_t left = 0;
  bool opened = false;  // the first ring to join opens it; the others see its result
  bool open_ok = false;
  int open_errno = 0;
  std::string open_failure;
};

std::mutex outputs_mutex;
std::map<std::string, std::shared_ptr<SharedOutput>> shared_outputs;

// The output registered under key (a live merged output's final path), made
// by the first ring to ask; each later one must expect the same number of rings.
std::shared_ptr<SharedOutput> JoinShared(const std::string& key, uint32_t expected) {
  std::lock_guard<std::mutex> lock(outputs_mutex);
  std::shared_ptr<SharedOutput>& slot = shared_outputs[key];
  if (!slot) {
    slot = std::make_shared<SharedOutput>();
    slot->expected = expected;
  }
  slot->joined++;
  return slot;
}

// The last ring to leave closes the output and forgets it; true for that ring.
bool LeaveShared(const std::string& key, const std::shared_ptr<SharedOutput>& so) {
  if (key.empty()) return true;
  std::lock_guard<std::mutex> lock(outputs_mutex);
  bool last = ++so->left >= so->expected;
  if (last) {
    auto it = shared_outputs.find(key);
    if (it != shared_outputs.end() && it->second == so) shared_outputs.erase(it);
  }
  return last;
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

// drainClosedFiles(ringId): the files ring ringId's loop closed since the
// last call, oldest first.
Napi::Value DrainClosedFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0, "ringId");
  std::vector<std::string> list;
  {
    std::lock_guard<std::mutex> lock(closed_mutex);
    auto it = closed_files.find(id);
    if (it != closed_files.end()) {
      list.swap(it->second);
      closed_files.erase(it);
    }
  }
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) out.Set(static_cast<uint32_t>(i), list[i]);
  return out;
}

// drainCurrentFile(ringId): the file the output opened by ring ringId writes
// now (a rotation's newest), or undefined when that ring opened none.
Napi::Value DrainCurrentFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0, "ringId");
  std::lock_guard<std::mutex> lock(current_mutex);
  auto it = current_files.find(id);
  if (it == current_files.end()) return env.Undefined();
  return Napi::String::New(env, it->second);
}

// drain(ringId, { path?: string, snaplen?: number, mode?: number, exclusive?: boolean, vdevPort?: number, clock:
// {tsc,ns,hz},
//                 pcapng?: { section, interfaces, interfaceId, flags, queue, stats?: {port, queue, direction} },
//                 rotate?: { fileBytes, packets, durationNs, intervalNs, startNs, files, maxFiles } (bigints) },
//                 control, shared)
Napi::Value Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0, "ringId");
  if (info.Length() < 4 || !info[1].IsObject())
    throw Napi::TypeError::New(env, "drain(ringId, options, control, shared)");
  Napi::Object opts = info[1].As<Napi::Object>();
  std::atomic<int64_t>* slots = SlotsOf(info[2], kSlotCount, env);
  std::atomic<int64_t>* shared = SlotsOf(info[3], kSharedSlotCount, env);
  std::atomic<int64_t>* quota = &shared[kQuota];

  std::shared_ptr<CaptureRing> ring = FindCaptureRing(id);
  if (!ring) Throw(env, "NO_SUCH_RING", "unknown capture ring id " + std::to_string(id));
  bool expected = false;
  if (!ring->draining.compare_exchange_strong(expected, true))
    Throw(env, "RING_IN_USE", "ring " + ring->ring_name + " already has a worker");
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
  // The output: this ring's own, or one shared with the other rings of a
  // live merged output (options.sharedOutput = { key, rings }).
  std::string shared_key;
  uint32_t shared_rings = 1;
  if (!to_vdev && opts.Get("sharedOutput").IsObject()) {
    Napi::Object sh = opts.Get("sharedOutput").As<Napi::Object>();
    shared_key = sh.Get("key").ToString().Utf8Value();
    shared_rings = sh.Get("rings").ToNumber().Uint32Value();
    if (shared_key.empty() || shared_rings == 0)
      throw Napi::TypeError::New(env, "options.sharedOutput needs a key and rings > 0");
  }
  std::shared_ptr<SharedOutput> so =
      shared_key.empty() ? std::make_shared<SharedOutput>() : JoinShared(shared_key, shared_rings);
  Output& writer = so->out;
  RecordTag tag;
  std::string path;
  // A ring that joined a shared output must leave it on every path, or the
  // output would never be closed.
  if (!to_vdev) try {
      if (!opts.Get("path").IsString()) throw Napi::TypeError::New(env, "options.path or options.vdevPort is required");
      path = opts.Get("path").As<Napi::String>().Utf8Value();
      std::lock_guard<std::mutex> lock(so->mu);
      if (opts.Get("pcapng").IsObject()) {
        Napi::Object ng = opts.Get("pcapng").As<Napi::Object>();
        tag.interface_id =
            ng.Get("interfaceId").IsNumber() ? ng.Get("interfaceId").As<Napi::Number>().Uint32Value() : 0;
        tag.flags = ng.Get("flags").IsNumber() ? ng.Get("flags").As<Napi::Number>().Uint32Value() : 0;
        tag.queue = ng.Get("queue").IsNumber() ? ng.Get("queue").As<Napi::Number>().Uint32Value() : 0;
        // The counters this ring adds to its interface's statistics block.
        // Read when the file closes, counted from this capture's enable like
        // the summary's (pdump.h CaptureCounters): DPDK 22.11 zeroes them at
        // the enable, 24.11 does not.
        if (ng.Get("stats").IsObject()) {
          Napi::Object st = ng.Get("stats").As<Napi::Object>();
          StatsSource src{tag.interface_id, static_cast<uint16_t>(st.Get("port").ToNumber().Uint32Value()),
                          st.Get("queue").ToNumber().Uint32Value(), st.Get("direction").ToNumber().Uint32Value()};
          if (QueueCounters(src.port, src.queue, src.direction) != nullptr) writer.stats.push_back(src);
        }
      }
      if (!so->opened) {
        so->opened = true;
        uint32_t snaplen = opts.Get("snaplen").IsNumber() ? opts.Get("snaplen").As<Napi::Number>().Uint32Value() : 0;
        writer.ring_id = id;
        writer.slots = slots;
        writer.SetCancel(&slots[kControl], kAbort);
        writer.base = path;
        writer.snaplen = snaplen == 0 ? kPcapSnaplen : snaplen;
        writer.mode = FileModeOption(opts);
        // A part of a merged output is a temporary file: it must be new.
        writer.exclusive = opts.Get("exclusive").ToBoolean().Value();
        if (opts.Get("pcapng").IsObject()) {
          Napi::Object ng = opts.Get("pcapng").As<Napi::Object>();
          writer.pcapng = true;
          writer.section = SectionOption(ng.Get("section"));
          writer.interfaces = InterfacesOption(ng.Get("interfaces"));
        }
        if (opts.Get("rotate").IsObject()) {
          Napi::Object r = opts.Get("rotate").As<Napi::Object>();
          writer.rot.file_bytes = BigIntProp(r, "fileBytes");
          writer.rot.packets = BigIntProp(r, "packets");
          writer.rot.duration_ns = BigIntProp(r, "durationNs");
          writer.rot.interval_ns = BigIntProp(r, "intervalNs");
          writer.rot.start_ns = BigIntProp(r, "startNs");
          writer.rot.ring = static_cast<uint32_t>(BigIntProp(r, "files"));
          writer.rot.max_files = static_cast<uint32_t>(BigIntProp(r, "maxFiles"));
        }
        so->open_ok = writer.Open(WallNs());
        so->open_errno = writer.error();
        if (!so->open_ok) so->open_failure = writer.OpenFailure();
      }
    } catch (...) {
      LeaveShared(shared_key, so);
      throw;
    }
  if (!to_vdev && !so->open_ok) {
    LeaveShared(shared_key, so);
    if (so->open_errno == ECANCELED) {
      Throw(env, "OUTPUT_NO_READER", "stopped while waiting for a process to open " + path + " for reading",
            so->open_errno);
    }
    Throw(env, "OUTPUT_OPEN_FAILED", so->open_failure, so->open_errno);
  }

  rte_mbuf* pkts[kBurst];
  rte_mbuf* send[kBurst];
  unsigned empty_polls = 0;
  uint64_t last_flush = NowNs();
  int64_t packets = 0, bytes = 0, wire = 0, bursts = 0, malformed = 0, over_quota = 0;
  int write_error = 0;

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
      // Every kSpinPolls-th empty poll (at most ~3 ms apart once idle): a
      // ring with no traffic does not contend for a shared output's lock.
      if (!to_vdev && (empty_polls & (kSpinPolls - 1)) == 0) {
        std::lock_guard<std::mutex> lock(so->mu);
        if (writer.has_unflushed() && NowNs() - last_flush >= kIdleFlushNs) {
          writer.Flush();
          last_flush = NowNs();
        }
        uint64_t wall = WallNs();
        if (writer.TimeIsUp(wall)) writer.Rotate(wall);
        write_error = writer.error();
      }
      if (++empty_polls < kSpinPolls) {
        rte_pause();
      } else {
        struct timespec nap = {0, kIdleSleepNs};
        nanosleep(&nap, nullptr);
      }
      if (write_error != 0) break;
      continue;
    }
    empty_polls = 0;
    bursts++;
    unsigned allowed = TakeQuota(quota, n);
    unsigned to_send = 0;
    {
      // One lock per burst: a shared output takes whole bursts, in the order the rings hand them over.
      std::unique_lock<std::mutex> lock(so->mu, std::defer_lock);
      if (!to_vdev) lock.lock();
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
          // Between two records: a new file starts whole, the old one ends whole.
          if (writer.MustRotate(p.ts_ns, p.caplen) && !writer.Rotate(WallNs())) break;
          writer.Write(pkts[i], p, tag);
          if (writer.error() != 0) break;
        }
        packets++;
        bytes += p.caplen;
        wire += p.origlen;
      }
      if (!to_vdev) {
        writer.Publish();
        write_error = writer.error();
      }
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
    if (write_error != 0) break;
  }

  std::vector<std::pair<std::string, uint64_t>> files;
  std::string failed_path;
  ForgetCurrent(id);
  if (!to_vdev) {
    std::lock_guard<std::mutex> lock(so->mu);
    // The last ring to leave closes the file; the others only flush their records.
    if (LeaveShared(shared_key, so)) {
      writer.Close(WallNs());
    } else if (writer.error() == 0) {
      writer.Flush();
    }
    write_error = writer.error();
    failed_path = writer.path();
    files = writer.done;
    // Report what the file really holds: a failed flush cuts back to the
    // last whole record on disk. A shared output's records are not this
    // ring's alone: each ring reports what it wrote.
    if (shared_key.empty()) {
      packets = static_cast<int64_t>(writer.records());
      bytes = static_cast<int64_t>(writer.packet_bytes());
    }
  }
  slots[kPackets].store(packets, std::memory_order_relaxed);
  slots[kBytes].store(bytes, std::memory_order_relaxed);
  slots[kWireBytes].store(wire, std::memory_order_relaxed);
  slots[kMalformed].store(malformed, std::memory_order_relaxed);
  slots[kOverQuota].store(over_quota, std::memory_order_relaxed);
  if (write_error != 0) {
    slots[kErrno].store(write_error, std::memory_order_relaxed);
    Throw(env, "WRITE_FAILED", "writing " + failed_path + " failed: " + strerror(write_error), write_error);
  }
  Napi::Object out = Napi::Object::New(env);
  Napi::Array file_list = Napi::Array::New(env, files.size());
  for (size_t i = 0; i < files.size(); i++) {
    Napi::Object f = Napi::Object::New(env);
    f.Set("file", files[i].first);
    f.Set("packets", Napi::Number::New(env, static_cast<double>(files[i].second)));
    file_list.Set(static_cast<uint32_t>(i), f);
  }
  out.Set("files", file_list);
  out.Set("packets", Napi::Number::New(env, static_cast<double>(packets)));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(bytes)));
  out.Set("wireBytes", Napi::Number::New(env, static_cast<double>(wire)));
  out.Set("malformed", Napi::Number::New(env, static_cast<double>(malformed)));
  out.Set("overQuota", Napi::Number::New(env, static_cast<double>(over_quota)));
  return out;
}

namespace {
Napi::Object NamesObject(Napi::Env env, const LayoutName* names, size_t n) {
  Napi::Object o = Napi::Object::New(env);
  for (size_t i = 0; i < n; i++) o.Set(names[i].name, Napi::Number::New(env, static_cast<double>(names[i].value)));
  return o;
}
}  // namespace

Napi::Value ControlLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("slots", NamesObject(env, kSlotNames, std::size(kSlotNames)));
  layout.Set("slotCount", Napi::Number::New(env, kSlotCount));
  layout.Set("control", NamesObject(env, kControlNames, std::size(kControlNames)));
  layout.Set("sharedSlots", NamesObject(env, kSharedSlotNames, std::size(kSharedSlotNames)));
  layout.Set("sharedSlotCount", Napi::Number::New(env, kSharedSlotCount));
  layout.Set("offsetUndecided", Napi::BigInt::New(env, kOffsetUndecided));
  return layout;
}

}  // namespace burstcap
