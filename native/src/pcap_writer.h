// burstcap's own pcap writer: nanosecond pcap, buffered, whole records only.
// A failed write truncates the file back to the last complete record, so a
// full disk or a removed file still leaves a valid capture behind.
#pragma once
#include <napi.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace burstcap {

constexpr uint32_t kPcapMagicNanos = 0xa1b23c4d;
constexpr uint32_t kPcapMagicMicros = 0xa1b2c3d4;
constexpr uint32_t kLinktypeEthernet = 1;
// tcpdump's default: large enough for any frame a DPDK port can carry.
constexpr uint32_t kPcapSnaplen = 262144;
constexpr size_t kPcapRecordHeader = 16;

class PcapWriter {
 public:
  explicit PcapWriter(size_t buffer_bytes = 1 << 20);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  bool Open(const std::string& path);
  // A record in pieces: Begin with its lengths, Append exactly caplen bytes.
  bool Begin(uint64_t ts_ns, uint32_t caplen, uint32_t origlen);
  void Append(const void* data, size_t len);
  bool Flush();
  bool Close();

  int error() const { return error_; }
  const std::string& path() const { return path_; }
  bool has_unflushed() const { return used_ > 0; }
  // Records on disk: a failed flush loses the ones still buffered.
  uint64_t records() const { return durable_records_; }
  // Packet bytes of those records (file size less the headers).
  uint64_t packet_bytes() const;

 private:
  bool WriteAll(const uint8_t* data, size_t len);
  void Fail(int err);

  std::string path_;
  int fd_ = -1;
  int error_ = 0;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  uint64_t durable_ = 0;  // bytes on disk that end on a record boundary
  uint64_t buffered_records_ = 0;
  uint64_t durable_records_ = 0;
  // A record larger than the buffer bypasses it.
  std::vector<uint8_t> big_;
  size_t big_expected_ = 0;
};

// JS class over PcapWriter, for tests, benchmarks and the merge step.
class PcapFileWriter : public Napi::ObjectWrap<PcapFileWriter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PcapFileWriter(const Napi::CallbackInfo& info);

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteRepeated(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void CheckError(Napi::Env env);
  PcapWriter writer_;
  bool closed_ = false;
};

}  // namespace burstcap
