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

namespace burstcap {

namespace {
constexpr size_t kReadBuffer = 1 << 20;

class PcapReader {
 public:
  bool Open(const std::string& path, std::string* err) {
    path_ = path;
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      *err = "cannot open " + path + ": " + strerror(errno);
      return false;
    }
    uint8_t header[24];
    if (!Read(header, sizeof(header))) {
      *err = path + " is not a pcap file (too short)";
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
    return true;
  }
  ~PcapReader() {
    if (fd_ >= 0) close(fd_);
  }
  // Loads the next record; false at end of file (a torn last record is ignored).
  bool Next() {
    uint32_t h[4];
    if (!Read(h, sizeof(h))) return false;
    ts_ns_ = static_cast<uint64_t>(h[0]) * 1000000000ull + (nanos_ ? h[1] : static_cast<uint64_t>(h[1]) * 1000ull);
    caplen_ = h[2];
    origlen_ = h[3];
    data_.resize(caplen_);
    return Read(data_.data(), caplen_);
  }
  uint64_t ts_ns() const { return ts_ns_; }
  uint32_t snaplen() const { return snaplen_; }
  uint32_t caplen() const { return caplen_; }
  uint32_t origlen() const { return origlen_; }
  const uint8_t* data() const { return data_.data(); }

 private:
  bool Read(void* out, size_t len) {
    uint8_t* dst = static_cast<uint8_t*>(out);
    while (len > 0) {
      if (pos_ == end_) {
        buf_.resize(kReadBuffer);
        ssize_t n = read(fd_, buf_.data(), buf_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        pos_ = 0;
        end_ = static_cast<size_t>(n);
      }
      size_t take = end_ - pos_ < len ? end_ - pos_ : len;
      memcpy(dst, buf_.data() + pos_, take);
      pos_ += take;
      dst += take;
      len -= take;
    }
    return true;
  }
  std::string path_;
  int fd_ = -1;
  bool nanos_ = true;
  uint32_t snaplen_ = 0;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t ts_ns_ = 0;
  uint32_t caplen_ = 0, origlen_ = 0;
  std::vector<uint8_t> data_;
};

class MergeWorker : public Napi::AsyncWorker {
 public:
  MergeWorker(Napi::Env env, std::vector<std::string> inputs, std::string output)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), inputs_(std::move(inputs)), output_(std::move(output)) {}
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
    PcapWriter writer;
    if (!writer.Open(output_, snaplen)) {
      code_ = "OUTPUT_OPEN_FAILED";
      errno_ = writer.error();
      SetError("cannot open " + output_ + " for writing: " + strerror(errno_));
      return;
    }
    using Entry = std::pair<uint64_t, size_t>;  // (timestamp, input index)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    for (size_t i = 0; i < readers.size(); i++) {
      if (readers[i]->Next()) heap.emplace(readers[i]->ts_ns(), i);
    }
    while (!heap.empty()) {
      size_t i = heap.top().second;
      heap.pop();
      PcapReader& r = *readers[i];
      if (writer.Begin(r.ts_ns(), r.caplen(), r.origlen())) writer.Append(r.data(), r.caplen());
      if (writer.error() != 0) break;
      packets_++;
      if (r.Next()) heap.emplace(r.ts_ns(), i);
    }
    if (!writer.Close()) {
      code_ = "WRITE_FAILED";
      errno_ = writer.error();
      SetError("writing " + output_ + " failed: " + strerror(errno_));
    }
  }
  void OnOK() override {
    Napi::Object out = Napi::Object::New(Env());
    out.Set("packets", Napi::Number::New(Env(), static_cast<double>(packets_)));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), code_, e.Message(), errno_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<std::string> inputs_;
  std::string output_;
  std::string code_ = "MERGE_FAILED";
  int errno_ = 0;
  uint64_t packets_ = 0;
};
}  // namespace

Napi::Value MergePcaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray()) throw Napi::TypeError::New(env, "mergePcaps(inputs[], output)");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> inputs;
  for (uint32_t i = 0; i < arr.Length(); i++) inputs.push_back(arr.Get(i).ToString().Utf8Value());
  std::string output = ArgString(info, 1, "output");
  auto* worker = new MergeWorker(env, std::move(inputs), std::move(output));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

}  // namespace burstcap
