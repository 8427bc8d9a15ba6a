// Native failures surface in JS as the library's own BurstcapError: JS hands
// the addon a factory once per environment (main thread and each worker).
#pragma once
#include <napi.h>
#include <string>

namespace burstcap {

// Stores the JS factory (code, message, errno, detail) => Error for this env.
Napi::Value SetErrorFactory(const Napi::CallbackInfo& info);

// Builds the typed error; falls back to a plain Error before a factory is set.
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message, int err = 0,
                      const std::string& detail = "");

[[noreturn]] void Throw(Napi::Env env, const std::string& code, const std::string& message, int err = 0,
                        const std::string& detail = "");

// Argument checks shared by every binding: JS validates first, native re-checks.
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what);

}  // namespace burstcap
