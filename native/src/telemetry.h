#pragma once
#include <napi.h>

namespace burstcap {
// telemetryQuery(socketPath, commands[]) -> raw JSON replies; no EAL needed.
Napi::Value TelemetryQuery(const Napi::CallbackInfo& info);
}  // namespace burstcap
