#pragma once
#include <napi.h>

namespace burstcap {
// Makes this process's mempool-ops table list the primary's ops at the same
// indexes (see mempool_ops.cc). Must run after EAL init, before any pool exists.
Napi::Value AlignMempoolOps(const Napi::CallbackInfo& info);
Napi::Value LocalMempoolOps(const Napi::CallbackInfo& info);
}  // namespace burstcap
