// burstcap's own pcap writer: nanosecond pcap, buffered, whole records only.
// A failed write truncates the file back to the last complete record, so a
// full disk or a removed file still leaves a valid capture behind.
#pragma once
#include <napi.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <atomic>
#include <string>
#include <vector>

namespace burstcap {

constexpr uint32_t kPcapMagicNanos = 0xa1b23c4d;
constexpr uint32_t kPcapMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kLinktypeEthernet = 1;
// tcpdump's default: large enough for any frame a DPDK port can carry.
constexpr uint32_t kPcapSnaplen = 262144;
constexpr size_t kPcapRecordHeader = 16;
// Captures hold other people's traffic: private unless the caller widens it.
constexpr mode_t kPrivateFileMode = 0600;

struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_frac;
  uint32_t caplen;
  uint32_t origlen;
};
static_assert(sizeof(PcapRecordHeader) == kPcapRecordHeader, "pcap record header is 16 bytes");

class PcapWriter {
 public:
  // 256 KiB stays in the core's L2 cache between fills: the record stores
  // and write(2)'s copy out of it both hit the cache. 1 MiB measured 8-10%
  // slower for 64-byte frames, 2 MiB 15%; the extra syscalls cost nothing.
  explicit PcapWriter(size_t buffer_bytes = 1 << 18);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // snaplen goes into the file header: the longest record the file may hold.
  // mode is the file's final mode, umask already applied by the caller: an
  // existing file is set to it too, since it is about to hold packets.
  // exclusive creates a new file only (O_EXCL|O_NOFOLLOW): for temporary
  // files, which must never reuse or follow whatever is at their path.
  bool Open(const std::string& path, uint32_t snaplen = kPcapSnaplen, mode_t mode = kPrivateFileMode,
            bool exclusive = false);
  // The same with the file's own header given whole: how the pcapng writer
  // (pcapng_writer.h) reuses this file handling with its section header.
  // A closed writer may be opened again (rotation): counts start over.
  bool OpenWith(const std::string& path, const void* header, size_t header_len, mode_t mode, bool exclusive);
  // Waits until the written data is on disk (fdatasync).
  bool Sync();
  // A record in pieces: Begin with its lengths, Append exactly caplen bytes.
  bool Begin(uint64_t ts_ns, uint32_t caplen, uint32_t origlen);
  void Append(const void* data, size_t len);
  // Any record format: `head` now, then Append until `total` bytes, of
  // which `caplen` are packet bytes. A record is counted once it is whole.
  bool BeginRecord(const void* head, size_t head_len, size_t total, uint32_t caplen);
  // A block that is not a packet (pcapng statistics): buffered whole, never
  // counted as a record, cut away with the rest on a failed write.
  bool WriteBlock(const void* data, size_t len);
  bool Flush();
  bool Close();

  // A pipe or FIFO is written without blocking: a write that cannot go on
  // waits in poll(2) and gives up (ECANCELED) once *slot == value, so a
  // reader that never reads cannot hold the capture's stop. Opening a FIFO
  // waits for its reader the same way.
  void SetCancel(const std::atomic<int64_t>* slot, int64_t value) {
    cancel_slot_ = slot;
    cancel_value_ = value;
  }

  int error() const { return error_; }
  // Why Open failed, as a sentence naming the file.
  std::string OpenFailure() const;
  const std::string& path() const { return path_; }
  bool has_unflushed() const { return used_ > 0; }
  // Records on disk: a failed flush loses the ones still buffered.
  uint64_t records() const { return durable_records_; }
  // Packet bytes of those records.
  uint64_t packet_bytes() const { return durable_packet_bytes_; }
  // Bytes in the file once the buffer is written: what a size limit compares.
  uint64_t size() const { return durable_ + used_ + big_.size(); }

 private:
  bool WriteAll(const uint8_t* data, size_t len);
  bool OpenFifo(const std::string& path);
  bool Cancelled() const {
    return cancel_slot_ != nullptr && cancel_slot_->load(std::memory_order_acquire) == cancel_value_;
  }
  void Fail(int err);

  const std::atomic<int64_t>* cancel_slot_ = nullptr;
  int64_t cancel_value_ = 0;

  std::string path_;
  int fd_ = -1;
  int error_ = 0;
  bool chmod_failed_ = false;
  mode_t mode_ = kPrivateFileMode;
  // Mapped with every page populated up front: faulting its pages in one by
  // one costs more than formatting a short capture (much more in a VM).
  uint8_t* buf_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint64_t durable_ = 0;  // bytes on disk that end on a record boundary
  uint64_t buffered_records_ = 0;
  uint64_t durable_records_ = 0;
  uint64_t buffered_packet_bytes_ = 0;
  uint64_t durable_packet_bytes_ = 0;
  // A record larger than the buffer bypasses it.
  std::vector<uint8_t> big_;
  size_t big_expected_ = 0;
  uint32_t big_caplen_ = 0;
};

// Begin and Append run once per packet in the drain loop: defined here so
// they inline into it.
inline bool PcapWriter::Begin(uint64_t ts_ns, uint32_t caplen, uint32_t origlen) {
  PcapRecordHeader h = {static_cast<uint32_t>(ts_ns / 1000000000ull), static_cast<uint32_t>(ts_ns % 1000000000ull),
                        caplen, origlen};
  return BeginRecord(&h, sizeof(h), sizeof(h) + caplen, caplen);
}

inline bool PcapWriter::BeginRecord(const void* head, size_t head_len, size_t total, uint32_t caplen) {
  if (error_ != 0 || fd_ < 0) return false;
  if (total > capacity_) {
    if (!Flush()) return false;
    const uint8_t* h = static_cast<const uint8_t*>(head);
    big_.assign(h, h + head_len);
    big_.reserve(total);
    big_expected_ = total;
    big_caplen_ = caplen;
    return true;
  }
  if (used_ + total > capacity_ && !Flush()) return false;
  memcpy(buf_ + used_, head, head_len);
  used_ += head_len;
  buffered_records_++;
  buffered_packet_bytes_ += caplen;
  return true;
}

inline void PcapWriter::Append(const void* data, size_t len) {
  if (error_ != 0) return;
  if (big_expected_ > 0) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    big_.insert(big_.end(), p, p + len);
    if (big_.size() >= big_expected_) {
      big_expected_ = 0;
      if (WriteAll(big_.data(), big_.size())) {
        durable_ += big_.size();
        durable_records_++;
        durable_packet_bytes_ += big_caplen_;
      } else {
        Fail(errno);
      }
      big_.clear();
    }
    return;
  }
  memcpy(buf_ + used_, data, len);
  used_ += len;
}

// options.mode of a JS call: the permission bits of a new output (0600 if absent).
mode_t FileModeOption(const Napi::Object& o);

// The arguments of writeFrames(frames, frameSize, count, tsNs, stepNs), for
// both file writers' benchmark entry, and the walk over the frames it asks
// for: `count` records taken in turn from a run of frameSize-byte frames,
// wrapping around, one every stepNs.
struct FramesRun {
  const uint8_t* frames = nullptr;
  size_t in_pool = 0;
  uint32_t frame_size = 0;
  uint32_t count = 0;
  uint64_t ts = 0;
  uint64_t step = 0;
  // Calls write(frame, ts) for each record until it returns false.
  template <typename F>
  void Each(F write) const {
    size_t next = 0;
    uint64_t t = ts;
    for (uint32_t i = 0; i < count; i++, t += step) {
      if (!write(frames + next * frame_size, t)) return;
      if (++next == in_pool) next = 0;
    }
  }
};
FramesRun FramesArgs(const Napi::CallbackInfo& info);
uint64_t TimestampArg(const Napi::CallbackInfo& info, size_t i);

// JS class over PcapWriter, for tests, benchmarks and the merge step.
class PcapFileWriter : public Napi::ObjectWrap<PcapFileWriter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PcapFileWriter(const Napi::CallbackInfo& info);

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteFrames(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void CheckError(Napi::Env env);
  PcapWriter writer_;
  bool closed_ = false;
};

}  // namespace burstcap
