#pragma once
#include <napi.h>

namespace burstcap {
// mergePcaps(inputs: string[], output: string, { mode?: number }) -> Promise<{ packets, parts: number[] }>
// Rejects, naming the input, on a torn or corrupt record or a read error:
// never takes damage for the end of a file.
Napi::Value MergePcaps(const Napi::CallbackInfo& info);
}  // namespace burstcap
