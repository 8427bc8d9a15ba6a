#pragma once
#include <napi.h>

namespace burstcap {
Napi::Value ListPorts(const Napi::CallbackInfo& info);
Napi::Value PortByName(const Napi::CallbackInfo& info);
}  // namespace burstcap
