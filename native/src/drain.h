#pragma once
#include <napi.h>

namespace burstcap {
// drain(ringId, options, control: BigInt64Array, shared: BigInt64Array), both over SharedArrayBuffers
// Runs on a worker thread until told to stop; see drain.cc.
Napi::Value Drain(const Napi::CallbackInfo& info);
// drainClosedFiles(ringId) -> string[]: files that ring closed since the last call.
Napi::Value DrainClosedFiles(const Napi::CallbackInfo& info);
// drainCurrentFile(ringId) -> string | undefined: the file the output that ring opened writes now.
Napi::Value DrainCurrentFile(const Napi::CallbackInfo& info);
// controlLayout() -> the control blocks' slots and values by name (control_layout.h).
Napi::Value ControlLayout(const Napi::CallbackInfo& info);
}  // namespace burstcap
