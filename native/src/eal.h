#pragma once
#include <napi.h>

namespace burstcap {

bool EalAttached();
// Throws EAL_NOT_ATTACHED unless Attach succeeded in this process.
void RequireEal(Napi::Env env);

// "unused", "attached", "failed" or "detached": only "unused" can still attach.
Napi::Value EalState(const Napi::CallbackInfo& info);
Napi::Value Attach(const Napi::CallbackInfo& info);
Napi::Value Detach(const Napi::CallbackInfo& info);
Napi::Value ReExec(const Napi::CallbackInfo& info);
Napi::Value PrimaryPid(const Napi::CallbackInfo& info);
Napi::Value ClockRef(const Napi::CallbackInfo& info);
Napi::Value EalLog(const Napi::CallbackInfo& info);
Napi::Value Version(const Napi::CallbackInfo& info);

}  // namespace burstcap
