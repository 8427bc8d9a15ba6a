#pragma once
#include <napi.h>

namespace burstcap {
Napi::Value PdumpReady(const Napi::CallbackInfo& info);
Napi::Value PdumpEnable(const Napi::CallbackInfo& info);
Napi::Value PdumpDisable(const Napi::CallbackInfo& info);
Napi::Value PdumpQueueStats(const Napi::CallbackInfo& info);
}  // namespace burstcap
