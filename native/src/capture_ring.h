// A capture endpoint: the ring the primary copies packets into and the pool
// the copies are allocated from. JS holds only its numeric id; workers in
// other threads look the same endpoint up by id.
#pragma once
#include <napi.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <memory>
#include <string>

namespace burstcap {

struct CaptureRing {
  uint32_t id = 0;
  std::string ring_name;
  std::string pool_name;
  rte_ring* ring = nullptr;
  rte_mempool* pool = nullptr;
  // Set while a worker drains it: freeing it then would free memory in use.
  std::atomic<bool> draining{false};
};

// Returns the endpoint or null; shared ownership keeps it alive while a
// worker holds it even if JS asks to destroy it concurrently.
std::shared_ptr<CaptureRing> FindCaptureRing(uint32_t id);

Napi::Value CreateCaptureRing(const Napi::CallbackInfo& info);
Napi::Value DestroyCaptureRing(const Napi::CallbackInfo& info);
Napi::Value CaptureRingInfo(const Napi::CallbackInfo& info);
Napi::Value ListSharedObjects(const Napi::CallbackInfo& info);
Napi::Value FreeStaleObject(const Napi::CallbackInfo& info);
Napi::Value SharedObjectFacts(const Napi::CallbackInfo& info);

}  // namespace burstcap
