#pragma once
#include <napi.h>

namespace burstcap {
Napi::Value PinThread(const Napi::CallbackInfo& info);
Napi::Value ThreadInfo(const Napi::CallbackInfo& info);
Napi::Value ExitNow(const Napi::CallbackInfo& info);
}  // namespace burstcap
