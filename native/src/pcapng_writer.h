// burstcap's pcapng writer: a section header, one interface description per
// port, an Enhanced Packet Block per packet with its direction and queue, and
// interface statistics at the end. The file handling (buffer, FIFOs, modes,
// cutting back to the last whole block on a failed write) is PcapWriter's.
#pragma once
#include <napi.h>
#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

#include "pcap_writer.h"

namespace burstcap {

// epb_flags direction bits (pcapng, section 4.3.1).
constexpr uint32_t kEpbInbound = 1;
constexpr uint32_t kEpbOutbound = 2;
// An EPB's fixed part: type, length, interface, timestamp (2), caplen, origlen.
constexpr size_t kEpbHeader = 28;
// epb_flags (8) + epb_queue (8) + opt_endofopt (4) + trailing length (4).
constexpr size_t kEpbTail = 24;

struct PcapngSection {
  std::string hardware, os, userappl, comment;
};

struct PcapngInterface {
  std::string name, description, filter;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
  bool has_mac = false;
  uint32_t snaplen = kPcapSnaplen;
};

// One interface statistics block: counters since the capture started.
struct PcapngStats {
  uint32_t interface_id = 0;
  uint64_t start_ns = 0, end_ns = 0;
  uint64_t ifrecv = 0, ifdrop = 0, filteraccept = 0;
};

// The section header and interface blocks, as the file starts with them.
std::vector<uint8_t> PcapngHeader(const PcapngSection& section, const std::vector<PcapngInterface>& interfaces);
std::vector<uint8_t> PcapngStatsBlock(const PcapngStats& s);

class PcapngWriter {
 public:
  bool Open(const std::string& path, const PcapngSection& section, const std::vector<PcapngInterface>& interfaces,
            mode_t mode = kPrivateFileMode, bool exclusive = false) {
    std::vector<uint8_t> header = PcapngHeader(section, interfaces);
    return file_.OpenWith(path, header.data(), header.size(), mode, exclusive);
  }
  // A block in pieces: Begin, Append exactly caplen bytes, End.
  bool Begin(uint32_t interface_id, uint64_t ts_ns, uint32_t caplen, uint32_t origlen, uint32_t flags, uint32_t queue);
  void Append(const void* data, size_t len) { file_.Append(data, len); }
  void End() { file_.Append(tail_, tail_len_); }
  bool WriteStats(const PcapngStats& s) {
    std::vector<uint8_t> b = PcapngStatsBlock(s);
    return file_.WriteBlock(b.data(), b.size());
  }
  bool Flush() { return file_.Flush(); }
  bool Sync() { return file_.Sync(); }
  bool Close() { return file_.Close(); }
  void SetCancel(const std::atomic<int64_t>* slot, int64_t value) { file_.SetCancel(slot, value); }
  int error() const { return file_.error(); }
  std::string OpenFailure() const { return file_.OpenFailure(); }
  const std::string& path() const { return file_.path(); }
  bool has_unflushed() const { return file_.has_unflushed(); }
  uint64_t records() const { return file_.records(); }
  uint64_t packet_bytes() const { return file_.packet_bytes(); }
  uint64_t size() const { return file_.size(); }

 private:
  PcapWriter file_;
  // Padding, options and the trailing length of the block begun last.
  uint8_t tail_[3 + kEpbTail];
  size_t tail_len_ = 0;
};

// Once per packet in the drain loop: inline, like PcapWriter::Begin.
inline bool PcapngWriter::Begin(uint32_t interface_id, uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
                                uint32_t flags, uint32_t queue) {
  uint32_t pad = (4 - (caplen & 3)) & 3;
  uint32_t total = static_cast<uint32_t>(kEpbHeader + kEpbTail) + caplen + pad;
  uint32_t head[7] = {
      0x00000006, total,  interface_id, static_cast<uint32_t>(ts_ns >> 32), static_cast<uint32_t>(ts_ns),
      caplen,     origlen};
  // option code/length pairs are 16-bit each: flags (2, 4), queue (6, 4).
  uint32_t tail[6] = {2u | (4u << 16), flags, 6u | (4u << 16), queue, 0, total};
  memset(tail_, 0, 4);
  memcpy(tail_ + pad, tail, sizeof(tail));
  tail_len_ = pad + sizeof(tail);
  return file_.BeginRecord(head, sizeof(head), total, caplen);
}

// JS class over PcapngWriter, for tests, the writer benchmark and the merge.
class PcapngFileWriter : public Napi::ObjectWrap<PcapngFileWriter> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PcapngFileWriter(const Napi::CallbackInfo& info);

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteFrames(const Napi::CallbackInfo& info);
  Napi::Value WriteStats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void CheckError(Napi::Env env);
  PcapngWriter writer_;
  bool closed_ = false;
};

// Reads { hardware?, os?, userappl?, comment? } and [{ name, description,
// mac: "aa:bb:..", snaplen, filter? }] from JS options.
PcapngSection SectionOption(const Napi::Value& v);
std::vector<PcapngInterface> InterfacesOption(const Napi::Value& v);
PcapngStats StatsOption(const Napi::Object& o);

}  // namespace burstcap
