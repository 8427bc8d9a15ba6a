#pragma once
#include <napi.h>

namespace burstcap {
// drain(ringId, options, control: SharedArrayBuffer, quota?: SharedArrayBuffer)
// Runs on a worker thread until told to stop; see drain.cc.
Napi::Value Drain(const Napi::CallbackInfo& info);
}  // namespace burstcap
