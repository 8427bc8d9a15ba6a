#include "filter.h"

#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <string.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "eal.h"
#include "errors.h"
#include "pcap_writer.h"

namespace burstcap {

namespace {

// rte_bpf_convert() keeps classic BPF's X register in r7 (lib/bpf/bpf_convert.c).
constexpr uint8_t kConvertedX = EBPF_REG_7;
constexpr uint32_t kBpfIndirect = 0x40;  // BPF_IND
// rte_bpf_convert() refuses longer classic programs (BPF_MAXINSNS).
constexpr u_int kMaxClassicInstructions = 4096;
constexpr size_t kMaxCorpus = 40000;
constexpr size_t kGeneratedFrames = 1500;
constexpr size_t kRandomFrames = 600;
constexpr size_t kFramesPerConstant = 24;
// Where a classic indirect load (X + k) usually points: X is the IPv4
// header length (20, or 24 with options) as libpcap computes it.
constexpr uint32_t kTypicalX[] = {20, 24};

std::mutex g_mutex;
std::map<uint32_t, struct rte_bpf_prm*> g_filters;
uint32_t g_next_id = 1;

// pcap_compile() keeps global state in older libpcap releases: one at a time.
std::mutex g_compile_mutex;

class ClassicProgram {
 public:
  // optimize: libpcap's optimizer takes minutes on filters of thousands of
  // clauses; a syntax check does without it.
  ClassicProgram(const std::string& expression, std::string* error, bool optimize = true) {
    std::lock_guard<std::mutex> lock(g_compile_mutex);
    pcap_t* p = pcap_open_dead(DLT_EN10MB, static_cast<int>(kPcapSnaplen));
    if (p == nullptr) {
      *error = "libpcap could not open a compile context";
      return;
    }
    if (pcap_compile(p, &prog_, expression.c_str(), optimize ? 1 : 0, PCAP_NETMASK_UNKNOWN) != 0) {
      *error = pcap_geterr(p);
    } else {
      ok_ = true;
    }
    pcap_close(p);
  }
  ~ClassicProgram() {
    if (ok_) pcap_freecode(&prog_);
  }
  ClassicProgram(const ClassicProgram&) = delete;
  ClassicProgram& operator=(const ClassicProgram&) = delete;

  bool ok() const { return ok_; }
  const struct bpf_program* get() const { return &prog_; }
  bool Matches(const std::vector<uint8_t>& frame) const {
    struct pcap_pkthdr h = {};
    h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
    return pcap_offline_filter(&prog_, &h, frame.data()) != 0;
  }

 private:
  struct bpf_program prog_ = {};
  bool ok_ = false;
};

// --- the corpus: frames of the kinds filters are written about ---------------

void Put16(std::vector<uint8_t>& f, uint16_t v) {
  f.push_back(static_cast<uint8_t>(v >> 8));
  f.push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>& f, uint32_t v) {
  Put16(f, static_cast<uint16_t>(v >> 16));
  Put16(f, static_cast<uint16_t>(v));
}
void Set16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

constexpr uint16_t kPorts[] = {0, 20, 22, 53, 67, 80, 123, 443, 1234, 5000, 8080, 65535};
constexpr uint32_t kAddrs[] = {0x0a000001, 0x0a000002, 0xc0a8010a, 0x08080808, 0xffffffff, 0xe0000001, 0x7f000001};
constexpr uint8_t kTcpFlags[] = {0x02, 0x12, 0x10, 0x11, 0x04, 0x18, 0x01, 0x29, 0x00, 0xff};
constexpr uint8_t kIpProtos[] = {6, 17, 1, 47, 50, 2};
constexpr uint8_t kIp6Next[] = {6, 17, 58, 0, 44};

void Ethernet(std::vector<uint8_t>& f, size_t i, bool vlan, uint16_t ethertype) {
  static const uint8_t kMacs[][6] = {
      {0x02, 0, 0, 0, 0, 1}, {0x02, 0, 0, 0, 0, 2}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0, 0x5e, 0, 0, 1}};
  f.insert(f.end(), kMacs[i % 4], kMacs[i % 4] + 6);
  f.insert(f.end(), kMacs[(i / 4) % 2], kMacs[(i / 4) % 2] + 6);
  if (vlan) {
    Put16(f, 0x8100);
    Put16(f, static_cast<uint16_t>(100 + i % 3));
  }
  Put16(f, ethertype);
}

void L4(std::vector<uint8_t>& f, size_t i, uint8_t proto) {
  uint16_t sport = kPorts[i % 12], dport = kPorts[(i / 3) % 12];
  if (proto == 6) {
    Put16(f, sport);
    Put16(f, dport);
    Put32(f, 0x01020304u * static_cast<uint32_t>(i));
    Put32(f, 0);
    bool options = i % 5 == 0;
    f.push_back(options ? 0x80 : 0x50);
    f.push_back(kTcpFlags[i % 10]);
    Put16(f, 0xffff);
    Put32(f, 0);
    if (options) f.insert(f.end(), 12, 0x01);
  } else if (proto == 17) {
    Put16(f, sport);
    Put16(f, dport);
    Put16(f, 8 + 16);
    Put16(f, 0);
  } else if (proto == 1 || proto == 58) {
    f.push_back(static_cast<uint8_t>(i % 2 ? 8 : 0));
    f.push_back(0);
    Put32(f, static_cast<uint32_t>(i));
  }
  for (int b = 0; b < 16; b++) f.push_back(static_cast<uint8_t>(i * 7 + b));
}

std::vector<uint8_t> Generated(size_t i) {
  std::vector<uint8_t> f;
  bool vlan = i % 7 == 3;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5: {  // IPv4
      Ethernet(f, i, vlan, 0x0800);
      size_t ip = f.size();
      bool options = i % 9 == 4;
      f.push_back(options ? 0x46 : 0x45);
      f.push_back(0);
      Put16(f, 0);  // total length, set below
      Put16(f, static_cast<uint16_t>(i));
      // Fragments: none, more-fragments, a later fragment, don't-fragment.
      static const uint16_t kFrag[] = {0, 0x2000, 0x00b9, 0x4000};
      Put16(f, kFrag[(i / 10) % 4]);
      f.push_back(64);
      uint8_t proto = kIpProtos[(i / 2) % 6];
      f.push_back(proto);
      Put16(f, 0);
      Put32(f, kAddrs[i % 7]);
      Put32(f, kAddrs[(i / 7) % 7]);
      if (options) Put32(f, 0x01010101);
      L4(f, i, proto);
      Set16(f, ip + 2, static_cast<uint16_t>(f.size() - ip));
      break;
    }
    case 6:
    case 7: {  // IPv6
      Ethernet(f, i, vlan, 0x86dd);
      size_t ip = f.size();
      Put32(f, 0x60000000);
      Put16(f, 0);
      uint8_t next = kIp6Next[(i / 2) % 5];
      f.push_back(next);
      f.push_back(64);
      for (int a = 0; a < 2; a++) {
        static const uint8_t kV6[][16] = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                          {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                          {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                          {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
        const uint8_t* addr = kV6[(i / (a ? 3 : 1)) % 4];
        f.insert(f.end(), addr, addr + 16);
      }
      L4(f, i, next == 0 || next == 44 ? 6 : next);
      Set16(f, ip + 4, static_cast<uint16_t>(f.size() - ip - 40));
      break;
    }
    case 8: {  // ARP
      Ethernet(f, i, vlan, 0x0806);
      Put16(f, 1);
      Put16(f, 0x0800);
      f.push_back(6);
      f.push_back(4);
      Put16(f, static_cast<uint16_t>(1 + i % 2));
      f.insert(f.end(), 6, 0x02);
      Put32(f, kAddrs[i % 7]);
      f.insert(f.end(), 6, 0);
      Put32(f, kAddrs[(i / 7) % 7]);
      break;
    }
    default: {  // something else: LLDP, MPLS, a length field instead of a type
      static const uint16_t kOther[] = {0x88cc, 0x8847, 0x0040, 0x8100};
      Ethernet(f, i, false, kOther[(i / 10) % 4]);
      for (int b = 0; b < 46; b++) f.push_back(static_cast<uint8_t>(i + b));
      break;
    }
  }
  return f;
}

std::vector<std::vector<uint8_t>> BuildCorpus(const struct bpf_program* prog) {
  std::vector<std::vector<uint8_t>> corpus;
  for (size_t i = 0; i < kGeneratedFrames; i++) corpus.push_back(Generated(i));
  // Frames cut short: loads past the end must fail the same way.
  static const size_t kCuts[] = {13, 14, 18, 23, 30, 34, 38, 40, 47, 54, 58};
  for (size_t i = 0; i < kGeneratedFrames; i += 13) {
    for (size_t cut : kCuts) {
      if (cut < corpus[i].size()) corpus.emplace_back(corpus[i].begin(), corpus[i].begin() + static_cast<long>(cut));
    }
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&x]() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (size_t i = 0; i < kRandomFrames; i++) {
    std::vector<uint8_t> f(14 + next() % 150);
    for (auto& b : f) b = static_cast<uint8_t>(next());
    static const uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100};
    if (i % 3 != 0) Set16(f, 12, kTypes[i % 3]);
    if (i % 3 == 1 && f.size() > 14) f[14] = static_cast<uint8_t>(0x45 + (f[14] & 1));
    corpus.push_back(std::move(f));
  }
  // The program's own constants written where it reads: a filter on an
  // address or a value none of the frames above carry still gets frames
  // that match it, and frames that almost do.
  std::set<std::pair<uint32_t, uint32_t>> places;  // (offset, size in bytes)
  std::set<uint32_t> constants;
  for (u_int n = 0; n < prog->bf_len; n++) {
    const struct bpf_insn& in = prog->bf_insns[n];
    uint32_t size = BPF_SIZE(in.code) == BPF_W ? 4 : BPF_SIZE(in.code) == BPF_H ? 2 : 1;
    if (BPF_CLASS(in.code) == BPF_LD && BPF_MODE(in.code) == BPF_ABS) places.insert({in.k, size});
    if (BPF_CLASS(in.code) == BPF_LD && BPF_MODE(in.code) == kBpfIndirect) {
      for (uint32_t xv : kTypicalX) places.insert({in.k + xv, size});
    }
    if (BPF_CLASS(in.code) == BPF_JMP && BPF_SRC(in.code) == BPF_K && BPF_OP(in.code) != BPF_JA) {
      constants.insert(in.k);
      constants.insert(in.k + 1);
    }
  }
  size_t base = corpus.size();
  for (const auto& place : places) {
    for (uint32_t k : constants) {
      for (size_t j = 0; j < kFramesPerConstant && corpus.size() < kMaxCorpus; j++) {
        std::vector<uint8_t> f = corpus[(j * 61 + k) % base];
        if (place.first + place.second > f.size()) continue;
        for (uint32_t b = 0; b < place.second; b++)
          f[place.first + b] = static_cast<uint8_t>(k >> (8 * (place.second - 1 - b)));
        corpus.push_back(std::move(f));
      }
    }
  }
  return corpus;
}

// rte_bpf_convert() takes a classic indirect load's base register from
// BPF_SRC(code), which for loads is part of the size field: halfword loads
// get X by accident, byte and word loads (tcp[13], udp[8:4]) the accumulator.
// The base of every classic indirect load is X. DPDK 24.11's converter
// (lib/bpf/bpf_convert.c) has the same code, so the repair runs on both.
void RepairIndirectLoads(struct rte_bpf_prm* prm) {
  auto* ins = const_cast<struct ebpf_insn*>(prm->ins);
  for (uint32_t n = 0; n < prm->nb_ins; n++) {
    if (BPF_CLASS(ins[n].code) == BPF_LD && BPF_MODE(ins[n].code) == kBpfIndirect) ins[n].src_reg = kConvertedX;
  }
}

std::string Describe(const std::vector<uint8_t>& frame) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < frame.size() && i < 64; i++) {
    s += kHex[frame[i] >> 4];
    s += kHex[frame[i] & 15];
  }
  return std::to_string(frame.size()) + " bytes: " + s + (frame.size() > 64 ? "..." : "");
}

// Runs the converted program in this process on every corpus frame, in the
// interpreter the primary's callbacks use, and compares with libpcap.
void Verify(Napi::Env env, const std::string& expression, const ClassicProgram& classic,
            const struct rte_bpf_prm* prm) {
  struct rte_bpf* bpf = rte_bpf_load(prm);
  if (bpf == nullptr) {
    int err = rte_errno;
    Throw(env, "FILTER_UNSUPPORTED",
          "filter '" + expression + "': DPDK's BPF library refused the converted program (" + rte_strerror(err) + ")",
          err);
  }
  std::string mismatch;
  for (const auto& frame : BuildCorpus(classic.get())) {
    alignas(RTE_CACHE_LINE_SIZE) struct rte_mbuf m;
    memset(&m, 0, sizeof(m));
    m.buf_addr = const_cast<uint8_t*>(frame.data());
    m.data_off = 0;
    m.data_len = static_cast<uint16_t>(frame.size());
    m.pkt_len = static_cast<uint32_t>(frame.size());
    m.nb_segs = 1;
    bool dpdk = rte_bpf_exec(bpf, &m) != 0;
    if (dpdk != classic.Matches(frame)) {
      mismatch = std::string(dpdk ? "matches" : "does not match") + " a frame libpcap " +
                 (dpdk ? "rejects" : "accepts") + " (" + Describe(frame) + ")";
      break;
    }
  }
  rte_bpf_destroy(bpf);
  if (!mismatch.empty()) {
    Throw(env, "FILTER_MISMATCH",
          "filter '" + expression + "': DPDK's BPF would judge packets differently from libpcap: it " + mismatch +
              ". burstcap will not run it in the primary; write the filter another way (for example with named fields "
              "instead of byte offsets)");
  }
}

}  // namespace

Napi::Value CheckFilter(const Napi::CallbackInfo& info) {
  std::string expression = ArgString(info, 0, "expression");
  std::string error;
  ClassicProgram classic(expression, &error, false);
  if (!classic.ok()) Throw(info.Env(), "BAD_FILTER", "filter '" + expression + "': " + error);
  return Napi::Number::New(info.Env(), classic.get()->bf_len);
}

Napi::Value CreateFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string expression = ArgString(info, 0, "expression");
  std::string error;
  ClassicProgram classic(expression, &error);
  if (!classic.ok()) Throw(env, "BAD_FILTER", "filter '" + expression + "': " + error);
  if (classic.get()->bf_len > kMaxClassicInstructions) {
    Throw(env, "FILTER_UNSUPPORTED",
          "filter '" + expression + "': it compiles to " + std::to_string(classic.get()->bf_len) +
              " BPF instructions and DPDK takes at most " + std::to_string(kMaxClassicInstructions) +
              "; shorten it (for example a net instead of a list of hosts)");
  }
  // Allocated by DPDK in shared memory: the primary reads it at this address.
  struct rte_bpf_prm* prm = rte_bpf_convert(classic.get());
  if (prm == nullptr) {
    int err = rte_errno;
    Throw(env, "FILTER_UNSUPPORTED", "filter '" + expression + "': DPDK cannot convert it (" + rte_strerror(err) + ")",
          err);
  }
  RepairIndirectLoads(prm);
  try {
    Verify(env, expression, classic, prm);
  } catch (...) {
    rte_free(prm);
    throw;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  uint32_t id = g_next_id++;
  g_filters[id] = prm;
  return Napi::Number::New(env, id);
}

Napi::Value DestroyFilter(const Napi::CallbackInfo& info) {
  uint32_t id = ArgU32(info, 0, "filterId");
  struct rte_bpf_prm* prm = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_filters.find(id);
    if (it == g_filters.end()) return info.Env().Undefined();
    prm = it->second;
    g_filters.erase(it);
  }
  rte_free(prm);
  return info.Env().Undefined();
}

const struct rte_bpf_prm* FindFilter(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_filters.find(id);
  return it == g_filters.end() ? nullptr : it->second;
}

}  // namespace burstcap
