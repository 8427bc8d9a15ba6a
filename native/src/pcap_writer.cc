#include "pcap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"

namespace burstcap {

namespace {
constexpr uint16_t kPcapVersionMajor = 2;
constexpr uint16_t kPcapVersionMinor = 4;
// How often a blocked FIFO open or pipe write looks at the cancel slot.
constexpr int kStreamPollMs = 20;

struct PcapFileHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t linktype;
};

}  // namespace

PcapWriter::PcapWriter(size_t buffer_bytes) {
  void* p = mmap(nullptr, buffer_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    error_ = errno;  // Open() reports it
    return;
  }
  buf_ = static_cast<uint8_t*>(p);
  capacity_ = buffer_bytes;
}

PcapWriter::~PcapWriter() {
  Close();
  if (buf_ != nullptr) munmap(buf_, capacity_);
}

void PcapWriter::Fail(int err) {
  if (error_ == 0) error_ = err;
  // Cut back to the last whole record: readers then see a clean end of file.
  if (fd_ >= 0) {
    int ignored = ftruncate(fd_, static_cast<off_t>(durable_));
    (void)ignored;
  }
  used_ = 0;
  buffered_records_ = 0;
  buffered_packet_bytes_ = 0;
  big_.clear();
  big_expected_ = 0;
}

bool PcapWriter::Open(const std::string& path, uint32_t snaplen, mode_t mode, bool exclusive) {
  PcapFileHeader h = {kPcapMagicNanos, kPcapVersionMajor, kPcapVersionMinor, 0, 0, snaplen, kLinktypeEthernet};
  return OpenWith(path, &h, sizeof(h), mode, exclusive);
}

bool PcapWriter::OpenWith(const std::string& path, const void* header, size_t header_len, mode_t mode, bool exclusive) {
  if (fd_ >= 0) Close();
  path_ = path;
  durable_ = 0;
  durable_records_ = 0;
  durable_packet_bytes_ = 0;
  used_ = 0;
  buffered_records_ = 0;
  buffered_packet_bytes_ = 0;
  mode_ = mode;
  if (buf_ == nullptr) return false;  // error_ holds the mmap failure
  struct stat fifo;
  if (!exclusive && stat(path.c_str(), &fifo) == 0 && S_ISFIFO(fifo.st_mode)) {
    if (!OpenFifo(path)) {
      error_ = errno;
      return false;
    }
  } else {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC);
    fd_ = open(path.c_str(), flags, mode);
  }
  if (fd_ < 0) {
    error_ = errno;
    return false;
  }
  // open(2) applies the mode to new files only: an older file keeps its own,
  // perhaps world-readable one, while it now receives packets. Regular files
  // only: run as root, fchmod of /dev/null would lock every other user out.
  struct stat st;
  bool regular = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && (st.st_mode & 07777) != mode && fchmod(fd_, mode) != 0) {
    error_ = errno;
    chmod_failed_ = true;
    close(fd_);
    fd_ = -1;
    return false;
  }
  if (!WriteAll(static_cast<const uint8_t*>(header), header_len)) {
    Fail(errno);
    return false;
  }
  durable_ = header_len;
  return true;
}

// A plain open(O_WRONLY) of a FIFO blocks until a reader opens it, beyond
// the reach of any stop request; O_NONBLOCK fails with ENXIO instead, and
// the descriptor stays non-blocking for WriteAll.
bool PcapWriter::OpenFifo(const std::string& path) {
  for (;;) {
    fd_ = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ >= 0 || errno != ENXIO) return fd_ >= 0;
    if (Cancelled()) {
      errno = ECANCELED;
      return false;
    }
    struct timespec nap = {0, kStreamPollMs * 1000000L};
    nanosleep(&nap, nullptr);
  }
}

bool PcapWriter::WriteAll(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd_, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (Cancelled()) {
          errno = ECANCELED;
          return false;
        }
        struct pollfd p = {fd_, POLLOUT, 0};
        poll(&p, 1, kStreamPollMs);
        continue;
      }
      return false;
    }
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool PcapWriter::Flush() {
  if (error_ != 0) return false;
  if (used_ == 0 || fd_ < 0) return true;
  if (!WriteAll(buf_, used_)) {
    Fail(errno);
    return false;
  }
  durable_ += used_;
  durable_records_ += buffered_records_;
  durable_packet_bytes_ += buffered_packet_bytes_;
  buffered_records_ = 0;
  buffered_packet_bytes_ = 0;
  used_ = 0;
  return true;
}

bool PcapWriter::WriteBlock(const void* data, size_t len) {
  if (error_ != 0 || fd_ < 0) return false;
  if (used_ + len > capacity_ && !Flush()) return false;
  if (len > capacity_) {
    if (!WriteAll(static_cast<const uint8_t*>(data), len)) {
      Fail(errno);
      return false;
    }
    durable_ += len;
    return true;
  }
  memcpy(buf_ + used_, data, len);
  used_ += len;
  return true;
}

std::string PcapWriter::OpenFailure() const {
  char octal[8];
  snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode_));
  if (chmod_failed_) {
    return "cannot make " + path_ + " private (mode " + octal + "): " + strerror(error_) +
           "; it belongs to another user: remove it or write to another name";
  }
  std::string why = strerror(error_);
  if (error_ == EEXIST || error_ == ELOOP) why += " (a temporary file must be new; something else is at its path)";
  return "cannot open " + path_ + " for writing: " + why;
}

bool PcapWriter::Sync() {
  if (!Flush()) return false;
  // A device such as /dev/null has nothing to sync: not a failure.
  if (fd_ >= 0 && fdatasync(fd_) != 0 && errno != EINVAL) {
    Fail(errno);
    return false;
  }
  return true;
}

bool PcapWriter::Close() {
  if (fd_ < 0) return error_ == 0;
  bool ok = Flush();
  if (close(fd_) != 0 && ok) {
    error_ = errno;
    ok = false;
  }
  fd_ = -1;
  return ok;
}

Napi::Function PcapFileWriter::Define(Napi::Env env) {
  return DefineClass(
      env, "PcapFileWriter",
      {InstanceMethod<&PcapFileWriter::Write>("write"), InstanceMethod<&PcapFileWriter::WriteFrames>("writeFrames"),
       InstanceMethod<&PcapFileWriter::Close>("close")});
}

// new PcapFileWriter(path, { mode?: number, exclusive?: boolean })
PcapFileWriter::PcapFileWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapFileWriter>(info) {
  std::string path = ArgString(info, 0, "path");
  mode_t mode = kPrivateFileMode;
  bool exclusive = false;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    mode = FileModeOption(o);
    exclusive = o.Get("exclusive").ToBoolean().Value();
  }
  if (!writer_.Open(path, kPcapSnaplen, mode, exclusive)) {
    Throw(info.Env(), "OUTPUT_OPEN_FAILED", writer_.OpenFailure(), writer_.error());
  }
}

void PcapFileWriter::CheckError(Napi::Env env) {
  if (writer_.error() != 0) {
    int err = writer_.error();
    Throw(env, "WRITE_FAILED", "writing " + writer_.path() + " failed: " + strerror(err), err);
  }
}

mode_t FileModeOption(const Napi::Object& o) {
  Napi::Value v = o.Get("mode");
  if (!v.IsNumber()) return kPrivateFileMode;
  // Permission bits only: never setuid, setgid or sticky on a capture.
  return static_cast<mode_t>(v.As<Napi::Number>().Uint32Value() & 0777);
}

uint64_t TimestampArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsBigInt())
    throw Napi::TypeError::New(info.Env(), "timestamp must be a bigint (ns)");
  bool lossless = true;
  return info[i].As<Napi::BigInt>().Uint64Value(&lossless);
}

// write(data: Buffer, tsNs: bigint, origlen?: number)
Napi::Value PcapFileWriter::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) Throw(env, "WRITER_CLOSED", "the writer is closed");
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "data must be a Buffer");
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t ts = TimestampArg(info, 1);
  uint32_t origlen = info.Length() > 2 ? ArgU32(info, 2, "origlen") : static_cast<uint32_t>(data.Length());
  if (writer_.Begin(ts, static_cast<uint32_t>(data.Length()), origlen)) writer_.Append(data.Data(), data.Length());
  CheckError(env);
  return env.Undefined();
}

FramesRun FramesArgs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "frames must be a Buffer");
  auto frames = info[0].As<Napi::Buffer<uint8_t>>();
  FramesRun run;
  run.frame_size = ArgU32(info, 1, "frameSize");
  if (run.frame_size == 0 || run.frame_size > frames.Length())
    throw Napi::RangeError::New(env, "frameSize must be from 1 to the length of frames");
  run.frames = frames.Data();
  run.in_pool = frames.Length() / run.frame_size;
  run.count = ArgU32(info, 2, "count");
  run.ts = TimestampArg(info, 3);
  run.step = TimestampArg(info, 4);
  return run;
}

// writeFrames(frames, frameSize, count, tsNs, stepNs): `count` records taken
// in turn from `frames`, a run of frameSize-byte frames, wrapping around. The
// writer's own cost per record without one JS call per packet, reading its
// frames from memory as cold as a capture's (used by the writer benchmark).
Napi::Value PcapFileWriter::WriteFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) Throw(env, "WRITER_CLOSED", "the writer is closed");
  FramesRun run = FramesArgs(info);
  run.Each([this, &run](const uint8_t* frame, uint64_t ts) {
    if (!writer_.Begin(ts, run.frame_size, run.frame_size)) return false;
    writer_.Append(frame, run.frame_size);
    return true;
  });
  CheckError(env);
  return env.Undefined();
}

Napi::Value PcapFileWriter::Close(const Napi::CallbackInfo& info) {
  if (!closed_) {
    closed_ = true;
    writer_.Close();
    CheckError(info.Env());
  }
  return info.Env().Undefined();
}

}  // namespace burstcap
