#pragma once
#include <napi.h>

namespace burstcap {
Napi::Value VdevCreate(const Napi::CallbackInfo& info);
Napi::Value VdevRemove(const Napi::CallbackInfo& info);
}  // namespace burstcap
