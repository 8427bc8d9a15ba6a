// Per-queue files become one file per port and direction: a k-way merge by
// capture timestamp. Ties keep input order (rx before tx, queue 0 first) and
// each input's own order is never changed. Runs off the JS thread.
#include "merge.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "errors.h"
#include "pcap_writer.h"
#include "pcapng_writer.h"

namespace burstcap {

namespace {
constexpr size_t kReadBuffer = 1 << 20;

// Reads one part. Every way a part can be damaged is an error that names
// the part and the record: a merge that took damage for the end of the file
// would lose packets silently, and the parts are deleted after it.
class PcapReader {
 public:
  enum class Step { kRecord, kEnd, kError };

  bool Open(const std::string& path, std::string* err) {
    path_ = path;
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      *err = "cannot open " + path + ": " + strerror(errno);
      return false;
    }
    uint8_t header[24];
    size_t got = 0;
    if (!Read(header, sizeof(header), &got)) {
      *err = error_.empty() ? path + " is not a pcap file (too short)" : error_;
      return false;
    }
    uint32_t magic;
    memcpy(&magic, header, 4);
    memcpy(&snaplen_, header + 16, 4);
    if (magic == kPcapMagicNanos) {
      nanos_ = true;
    } else if (magic == kPcapMagicMicros) {
      nanos_ = false;
    } else {
      *err = path + " is not a native-order pcap file";
      return false;
    }
    if (snaplen_ == 0) snaplen_ = kPcapSnaplen;
    return true;
  }
  ~PcapReader() {
    if (fd_ >= 0) close(fd_);
  }
  // Loads the next record. kEnd only at a clean end of file, after a whole
  // record; error() says what is wrong otherwise.
  Step Next() {
    uint32_t h[4];
    size_t got = 0;
    uint64_t at = offset_;
    if (!Read(h, sizeof(h), &got)) {
      if (!error_.empty()) return Step::kError;
      if (got == 0) return Step::kEnd;
      return Fail("ends inside the header of record " + std::to_string(records_ + 1) + " (byte " + std::to_string(at) +
                  ", " + std::to_string(got) + " of 16 bytes): the part is torn");
    }
    ts_ns_ = static_cast<uint64_t>(h[0]) * 1000000000ull + (nanos_ ? h[1] : static_cast<uint64_t>(h[1]) * 1000ull);
    caplen_ = h[2];
    origlen_ = h[3];
    // The writer never exceeds the snaplen it put in the header: a longer
    // record is a corrupt header, and reading on would misframe the rest.
    if (caplen_ > snaplen_) {
      return Fail("record " + std::to_string(records_ + 1) + " (byte " + std::to_string(at) + ") claims " +
                  std::to_string(caplen_) + " captured bytes, more than the file's snaplen " +
                  std::to_string(snaplen_) + ": a corrupt record header");
    }
    data_.resize(caplen_);
    if (!Read(data_.data(), caplen_, &got)) {
      if (!error_.empty()) return Step::kError;
      return Fail("ends inside record " + std::to_string(records_ + 1) + " (byte " + std::to_string(at) + ": " +
                  std::to_string(got) + " of " + std::to_string(caplen_) + " packet bytes): the part is torn");
    }
    records_++;
    return Step::kRecord;
  }
  uint64_t ts_ns() const { return ts_ns_; }
  uint32_t snaplen() const { return snaplen_; }
  uint32_t caplen() const { return caplen_; }
  uint32_t origlen() const { return origlen_; }
  const uint8_t* data() const { return data_.data(); }
  uint64_t records() const { return records_; }
  const std::string& error() const { return error_; }

 private:
  Step Fail(const std::string& what) {
    error_ = path_ + " " + what;
    return Step::kError;
  }
  // False when fewer than len bytes were left (*got says how many were
  // read) or when read(2) failed (error() is then set).
  bool Read(void* out, size_t len, size_t* got) {
    uint8_t* dst = static_cast<uint8_t*>(out);
    *got = 0;
    while (len > 0) {
      if (pos_ == end_) {
        buf_.resize(kReadBuffer);
        ssize_t n = read(fd_, buf_.data(), buf_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          Fail("could not be read at byte " + std::to_string(offset_) + ": " + strerror(errno));
          return false;
        }
        if (n == 0) return false;
        pos_ = 0;
        end_ = static_cast<size_t>(n);
      }
      size_t take = end_ - pos_ < len ? end_ - pos_ : len;
      memcpy(dst, buf_.data() + pos_, take);
      pos_ += take;
      dst += take;
      len -= take;
      *got += take;
      offset_ += take;
    }
    return true;
  }
  std::string path_;
  int fd_ = -1;
  bool nanos_ = true;
  uint32_t snaplen_ = 0;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t offset_ = 0;
  uint64_t records_ = 0;
  std::string error_;
  uint64_t ts_ns_ = 0;
  uint32_t caplen_ = 0, origlen_ = 0;
  std::vector<uint8_t> data_;
};

// A pcapng merge: what each input is (its interface, direction, queue) and
// the statistics blocks that end the file. The parts stay pcap: see README
// "pcapng and merged outputs".
struct PcapngMerge {
  bool on = false;
  PcapngSection section;
  std::vector<PcapngInterface> interfaces;
  struct Input {
    uint32_t interface_id = 0, flags = 0, queue = 0;
  };
  std::vector<Input> inputs;
  std::vector<PcapngStats> stats;
};

// The merged file's writer: pcap or pcapng, one record call for both.
struct MergeOutput {
  bool ng = false;
  PcapWriter pcap;
  PcapngWriter png;
  bool Write(const PcapngMerge::Input& in, uint64_t ts, uint32_t caplen, uint32_t origlen, const uint8_t* data) {
    if (ng) {
      if (png.Begin(in.interface_id, ts, caplen, origlen, in.flags, in.queue)) {
        png.Append(data, caplen);
        png.End();
      }
      return png.error() == 0;
    }
    if (pcap.Begin(ts, caplen, origlen)) pcap.Append(data, caplen);
    return pcap.error() == 0;
  }
  int error() const { return ng ? png.error() : pcap.error(); }
  bool Sync() { return ng ? png.Sync() : pcap.Sync(); }
  bool Close() { return ng ? png.Close() : pcap.Close(); }
  uint64_t records() const { return ng ? png.records() : pcap.records(); }
  std::string OpenFailure() const { return ng ? png.OpenFailure() : pcap.OpenFailure(); }
};

class MergeWorker : public Napi::AsyncWorker {
 public:
  MergeWorker(Napi::Env env, std::vector<std::string> inputs, std::string output, mode_t mode, PcapngMerge ng)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        inputs_(std::move(inputs)),
        output_(std::move(output)),
        mode_(mode),
        ng_(std::move(ng)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::vector<std::unique_ptr<PcapReader>> readers;
    for (const std::string& in : inputs_) {
      auto r = std::make_unique<PcapReader>();
      std::string err;
      if (!r->Open(in, &err)) {
        code_ = "MERGE_INPUT_FAILED";
        SetError(err);
        return;
      }
      readers.push_back(std::move(r));
    }
    // The merged file may hold the longest record any input may hold.
    uint32_t snaplen = 0;
    for (const auto& r : readers) snaplen = std::max(snaplen, r->snaplen());
    MergeOutput writer;
    writer.ng = ng_.on;
    ng_.inputs.resize(readers.size());
    for (PcapngMerge::Input& in : ng_.inputs) {
      if (in.interface_id >= ng_.interfaces.size()) in.interface_id = 0;
    }
    bool opened = writer.ng ? writer.png.Open(output_, ng_.section, ng_.interfaces, mode_)
                            : writer.pcap.Open(output_, snaplen, mode_);
    if (!opened) {
      code_ = "OUTPUT_OPEN_FAILED";
      errno_ = writer.error();
      SetError(writer.OpenFailure());
      return;
    }
    using Entry = std::pair<uint64_t, size_t>;  // (timestamp, input index)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    const PcapReader* damaged = nullptr;
    auto advance = [&](size_t i) {
      PcapReader::Step step = readers[i]->Next();
      if (step == PcapReader::Step::kRecord) heap.emplace(readers[i]->ts_ns(), i);
      if (step == PcapReader::Step::kError && damaged == nullptr) damaged = readers[i].get();
    };
    for (size_t i = 0; i < readers.size() && damaged == nullptr; i++) advance(i);
    while (!heap.empty() && damaged == nullptr) {
      size_t i = heap.top().second;
      heap.pop();
      PcapReader& r = *readers[i];
      if (!writer.Write(ng_.inputs[i], r.ts_ns(), r.caplen(), r.origlen(), r.data())) break;
      advance(i);
    }
    if (writer.ng && damaged == nullptr) {
      for (const PcapngStats& st : ng_.stats) writer.png.WriteStats(st);
    }
    // The parts are deleted after a merge that succeeds: only once every
    // record is on disk, counted, in the closed file.
    bool written = writer.Sync();
    written = writer.Close() && written;
    if (damaged != nullptr) {
      code_ = "MERGE_INPUT_DAMAGED";
      SetError(damaged->error());
      return;
    }
    if (!written) {
      code_ = "WRITE_FAILED";
      errno_ = writer.error();
      SetError("writing " + output_ + " failed: " + strerror(errno_));
      return;
    }
    uint64_t read = 0;
    for (const auto& r : readers) {
      read += r->records();
      part_records_.push_back(r->records());
    }
    packets_ = writer.records();
    if (packets_ != read) {
      code_ = "MERGE_INCOMPLETE";
      SetError(output_ + " holds " + std::to_string(packets_) + " records but its parts hold " + std::to_string(read));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("packets", Napi::Number::New(env, static_cast<double>(packets_)));
    Napi::Array parts = Napi::Array::New(env, part_records_.size());
    for (size_t i = 0; i < part_records_.size(); i++)
      parts.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(part_records_[i])));
    out.Set("parts", parts);
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), code_, e.Message(), errno_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::string> inputs_;
  std::string output_;
  mode_t mode_;
  PcapngMerge ng_;
  std::string code_ = "MERGE_FAILED";
  int errno_ = 0;
  uint64_t packets_ = 0;
  std::vector<uint64_t> part_records_;
};
}  // namespace

Napi::Value MergePcaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "mergePcaps(inputs[], output, options?)");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < arr.Length(); i++) inputs.push_back(arr.Get(i).ToString().Utf8Value());
  std::string output = ArgString(info, 1, "output");
  mode_t mode = info.Length() > 2 && info[2].IsObject() ? FileModeOption(info[2].As<Napi::Object>()) : kPrivateFileMode;
  PcapngMerge ng;
  if (info.Length() > 2 && info[2].IsObject() && info[2].As<Napi::Object>().Get("pcapng").IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>().Get("pcapng").As<Napi::Object>();
    ng.on = true;
    ng.section = SectionOption(o.Get("section"));
    ng.interfaces = InterfacesOption(o.Get("interfaces"));
    if (o.Get("inputs").IsArray()) {
      Napi::Array a = o.Get("inputs").As<Napi::Array>();
      for (uint32_t k = 0; k < a.Length(); k++) {
        PcapngMerge::Input in;
        if (a.Get(k).IsObject()) {
          Napi::Object e = a.Get(k).As<Napi::Object>();
          in.interface_id = e.Get("interfaceId").ToNumber().Uint32Value();
          in.flags = e.Get("flags").ToNumber().Uint32Value();
          in.queue = e.Get("queue").ToNumber().Uint32Value();
        }
        ng.inputs.push_back(in);
      }
    }
    if (o.Get("stats").IsArray()) {
      Napi::Array a = o.Get("stats").As<Napi::Array>();
      for (uint32_t k = 0; k < a.Length(); k++) {
        if (a.Get(k).IsObject()) ng.stats.push_back(StatsOption(a.Get(k).As<Napi::Object>()));
      }
    }
  }
  auto* worker = new MergeWorker(env, std::move(inputs), std::move(output), mode, std::move(ng));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace burstcap
