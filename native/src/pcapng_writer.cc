#include "pcapng_writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

namespace burstcap {

namespace {
constexpr uint32_t kShbType = 0x0A0D0D0A;
constexpr uint32_t kIdbType = 0x00000001;
constexpr uint32_t kIsbType = 0x00000005;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kOptEnd = 0, kOptComment = 1;
constexpr uint16_t kShbHardware = 2, kShbOs = 3, kShbUserappl = 4;
constexpr uint16_t kIfName = 2, kIfDescription = 3, kIfMacaddr = 6, kIfTsresol = 9, kIfFilter = 11;
constexpr uint16_t kIsbStarttime = 2, kIsbEndtime = 3, kIsbIfrecv = 4, kIsbIfdrop = 5, kIsbFilteraccept = 6;
// if_tsresol 9: timestamps count nanoseconds, as the pcap files' do.
constexpr uint8_t kTsresolNanos = 9;
// if_filter's first byte: 0 = a libpcap filter string.
constexpr uint8_t kFilterLibpcap = 0;

class Block {
 public:
  explicit Block(uint32_t type) {
    U32(type);
    U32(0);  // the length, set by Finish
  }
  Block& U16(uint16_t v) { return Raw(&v, 2); }
  Block& U32(uint32_t v) { return Raw(&v, 4); }
  Block& U64(uint64_t v) { return Raw(&v, 8); }
  Block& Raw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
    return *this;
  }
  Block& Option(uint16_t code, const void* p, size_t n) {
    U16(code).U16(static_cast<uint16_t>(n)).Raw(p, n);
    while (bytes_.size() % 4 != 0) bytes_.push_back(0);
    return *this;
  }
  Block& Option(uint16_t code, const std::string& s) {
    return s.empty() ? *this : Option(code, s.data(), s.size() > 0xffff ? 0xffff : s.size());
  }
  // A 64-bit pcapng timestamp: upper 32 bits first, as in an EPB.
  Block& TimeOption(uint16_t code, uint64_t ns) {
    uint32_t t[2] = {static_cast<uint32_t>(ns >> 32), static_cast<uint32_t>(ns)};
    return Option(code, t, sizeof(t));
  }
  std::vector<uint8_t> Finish(bool options) {
    if (options) U16(kOptEnd).U16(0);
    uint32_t total = static_cast<uint32_t>(bytes_.size() + 4);
    U32(total);
    memcpy(bytes_.data() + 4, &total, 4);
    return std::move(bytes_);
  }

 private:
  std::vector<uint8_t> bytes_;
};

void AppendTo(std::vector<uint8_t>* out, const std::vector<uint8_t>& b) { out->insert(out->end(), b.begin(), b.end()); }

std::string StringProp(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

uint64_t U64Prop(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    return d > 0 ? static_cast<uint64_t>(d) : 0;
  }
  return 0;
}
}  // namespace

std::vector<uint8_t> PcapngHeader(const PcapngSection& section, const std::vector<PcapngInterface>& interfaces) {
  Block shb(kShbType);
  // Section length -1: not given, so a reader never trusts a stale one.
  shb.U32(kByteOrderMagic).U16(1).U16(0).U64(~0ull);
  shb.Option(kShbHardware, section.hardware)
      .Option(kShbOs, section.os)
      .Option(kShbUserappl, section.userappl)
      .Option(kOptComment, section.comment);
  std::vector<uint8_t> out = shb.Finish(true);
  for (const PcapngInterface& i : interfaces) {
    Block idb(kIdbType);
    idb.U16(static_cast<uint16_t>(kLinktypeEthernet)).U16(0).U32(i.snaplen);
    idb.Option(kIfName, i.name).Option(kIfDescription, i.description);
    if (i.has_mac) idb.Option(kIfMacaddr, i.mac, 6);
    idb.Option(kIfTsresol, &kTsresolNanos, 1);
    if (!i.filter.empty()) {
      std::string f(1, static_cast<char>(kFilterLibpcap));
      f += i.filter;
      idb.Option(kIfFilter, f);
    }
    AppendTo(&out, idb.Finish(true));
  }
  return out;
}

std::vector<uint8_t> PcapngStatsBlock(const PcapngStats& s) {
  Block isb(kIsbType);
  isb.U32(s.interface_id).U32(static_cast<uint32_t>(s.end_ns >> 32)).U32(static_cast<uint32_t>(s.end_ns));
  isb.TimeOption(kIsbStarttime, s.start_ns).TimeOption(kIsbEndtime, s.end_ns);
  isb.Option(kIsbIfrecv, &s.ifrecv, 8).Option(kIsbIfdrop, &s.ifdrop, 8).Option(kIsbFilteraccept, &s.filteraccept, 8);
  return isb.Finish(true);
}

PcapngSection SectionOption(const Napi::Value& v) {
  PcapngSection s;
  if (!v.IsObject()) return s;
  Napi::Object o = v.As<Napi::Object>();
  s.hardware = StringProp(o, "hardware");
  s.os = StringProp(o, "os");
  s.userappl = StringProp(o, "userappl");
  s.comment = StringProp(o, "comment");
  return s;
}

std::vector<PcapngInterface> InterfacesOption(const Napi::Value& v) {
  std::vector<PcapngInterface> out;
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t k = 0; k < a.Length(); k++) {
      if (!a.Get(k).IsObject()) continue;
      Napi::Object o = a.Get(k).As<Napi::Object>();
      PcapngInterface i;
      i.name = StringProp(o, "name");
      i.description = StringProp(o, "description");
      i.filter = StringProp(o, "filter");
      uint64_t snaplen = U64Prop(o, "snaplen");
      i.snaplen = snaplen == 0 || snaplen > kPcapSnaplen ? kPcapSnaplen : static_cast<uint32_t>(snaplen);
      unsigned m[6];
      std::string mac = StringProp(o, "mac");
      if (sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6) {
        for (int b = 0; b < 6; b++) i.mac[b] = static_cast<uint8_t>(m[b]);
        i.has_mac = true;
      }
      out.push_back(i);
    }
  }
  // A file without an interface could hold no packet: give it one.
  if (out.empty()) out.emplace_back();
  return out;
}

PcapngStats StatsOption(const Napi::Object& o) {
  PcapngStats s;
  s.interface_id = static_cast<uint32_t>(U64Prop(o, "interfaceId"));
  s.start_ns = U64Prop(o, "startNs");
  s.end_ns = U64Prop(o, "endNs");
  s.ifrecv = U64Prop(o, "ifrecv");
  s.ifdrop = U64Prop(o, "ifdrop");
  s.filteraccept = U64Prop(o, "filteraccept");
  return s;
}

Napi::Function PcapngFileWriter::Define(Napi::Env env) {
  return DefineClass(
      env, "PcapngFileWriter",
      {InstanceMethod<&PcapngFileWriter::Write>("write"), InstanceMethod<&PcapngFileWriter::WriteFrames>("writeFrames"),
       InstanceMethod<&PcapngFileWriter::WriteStats>("writeStats"), InstanceMethod<&PcapngFileWriter::Close>("close")});
}

// new PcapngFileWriter(path, { mode?, exclusive?, section?, interfaces? })
PcapngFileWriter::PcapngFileWriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapngFileWriter>(info) {
  std::string path = ArgString(info, 0, "path");
  mode_t mode = kPrivateFileMode;
  bool exclusive = false;
  PcapngSection section;
  std::vector<PcapngInterface> interfaces;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    mode = FileModeOption(o);
    exclusive = o.Get("exclusive").ToBoolean().Value();
    section = SectionOption(o.Get("section"));
    interfaces = InterfacesOption(o.Get("interfaces"));
  } else {
    interfaces = InterfacesOption(Napi::Value());
  }
  if (!writer_.Open(path, section, interfaces, mode, exclusive))
    Throw(info.Env(), "OUTPUT_OPEN_FAILED", writer_.OpenFailure(), writer_.error());
}

void PcapngFileWriter::CheckError(Napi::Env env) {
  if (writer_.error() != 0) {
    int err = writer_.error();
    Throw(env, "WRITE_FAILED", "writing " + writer_.path() + " failed: " + strerror(err), err);
  }
}

// write(data: Buffer, tsNs: bigint, { interfaceId?, flags?, queue?, origlen? })
Napi::Value PcapngFileWriter::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) Throw(env, "WRITER_CLOSED", "the writer is closed");
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "data must be a Buffer");
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t ts = TimestampArg(info, 1);
  uint32_t iface = 0, flags = 0, queue = 0, origlen = static_cast<uint32_t>(data.Length());
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    iface = static_cast<uint32_t>(U64Prop(o, "interfaceId"));
    flags = static_cast<uint32_t>(U64Prop(o, "flags"));
    queue = static_cast<uint32_t>(U64Prop(o, "queue"));
    if (o.Has("origlen")) origlen = static_cast<uint32_t>(U64Prop(o, "origlen"));
  }
  if (writer_.Begin(iface, ts, static_cast<uint32_t>(data.Length()), origlen, flags, queue)) {
    writer_.Append(data.Data(), data.Length());
    writer_.End();
  }
  CheckError(env);
  return env.Undefined();
}

// writeFrames(frames, frameSize, count, tsNs, stepNs): as PcapFileWriter's,
// every record an inbound packet of interface 0, queue 0.
Napi::Value PcapngFileWriter::WriteFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) Throw(env, "WRITER_CLOSED", "the writer is closed");
  FramesRun run = FramesArgs(info);
  run.Each([this, &run](const uint8_t* frame, uint64_t ts) {
    if (!writer_.Begin(0, ts, run.frame_size, run.frame_size, kEpbInbound, 0)) return false;
    writer_.Append(frame, run.frame_size);
    writer_.End();
    return true;
  });
  CheckError(env);
  return env.Undefined();
}

// writeStats({ interfaceId, startNs, endNs, ifrecv, ifdrop, filteraccept })
Napi::Value PcapngFileWriter::WriteStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) Throw(env, "WRITER_CLOSED", "the writer is closed");
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "writeStats(stats)");
  writer_.WriteStats(StatsOption(info[0].As<Napi::Object>()));
  CheckError(env);
  return env.Undefined();
}

Napi::Value PcapngFileWriter::Close(const Napi::CallbackInfo& info) {
  if (!closed_) {
    closed_ = true;
    writer_.Close();
    CheckError(info.Env());
  }
  return info.Env().Undefined();
}

}  // namespace burstcap
