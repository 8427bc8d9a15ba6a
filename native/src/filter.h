// Capture filters: pcap-filter(7) expressions the primary runs on each packet
// before it copies it, so that packets nobody wants cost it nothing but the
// test. libpcap compiles the expression to classic BPF, rte_bpf_convert()
// turns that into eBPF, and the primary's pdump callbacks run it in DPDK's
// BPF interpreter. The program runs inside someone else's application: it
// is repaired where the converter is known to be wrong, then run here on a
// corpus of packets and must agree with libpcap on every one of them.
#pragma once
#include <napi.h>
#include <rte_bpf.h>

namespace burstcap {

// checkFilter(expression) -> number of classic instructions. Needs no EAL:
// a syntax error is reported before anything touches the primary.
Napi::Value CheckFilter(const Napi::CallbackInfo& info);
// createFilter(expression) -> id of a program in shared memory, checked.
Napi::Value CreateFilter(const Napi::CallbackInfo& info);
// destroyFilter(id): idempotent. Only after every callback using it is disabled.
Napi::Value DestroyFilter(const Napi::CallbackInfo& info);

// The program for rte_pdump_enable_bpf(), or null for an unknown id.
const struct rte_bpf_prm* FindFilter(uint32_t id);

}  // namespace burstcap
