#pragma once
#include <napi.h>

namespace burstcap {
// mergePcaps(inputs: string[], output: string) -> Promise<{ packets }>
Napi::Value MergePcaps(const Napi::CallbackInfo& info);
}  // namespace burstcap
