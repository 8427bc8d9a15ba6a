#pragma once
#include <napi.h>

namespace burstcap {
Napi::Value PdumpReady(const Napi::CallbackInfo& info);
Napi::Value PdumpEnable(const Napi::CallbackInfo& info);
Napi::Value PdumpDisable(const Napi::CallbackInfo& info);
Napi::Value PdumpQueueStats(const Napi::CallbackInfo& info);
Napi::Value PdumpTracked(const Napi::CallbackInfo& info);
Napi::Value PdumpEmergencyDisable(const Napi::CallbackInfo& info);
Napi::Value PdumpHurry(const Napi::CallbackInfo& info);
// Disables every callback this process may still have installed; returns how
// many requests got no answer. Safe to call at any time, also without EAL.
int EmergencyDisable();
// True while a disable request waits for the primary: EAL must not be torn
// down under it.
bool PdumpRequestsInFlight();
// The primary's counters of one queue and direction (1 rx, 2 tx) in its
// shared memory: accepted, filtered, nombuf, ringfull, read with relaxed
// atomic loads. nullptr when the primary has no pdump statistics. Any
// thread may call it (the drain loop does, for pcapng statistics blocks).
const uint64_t* QueueCounters(uint16_t port, uint32_t queue, uint32_t direction);
// The same counters as this capture's: since its enable of that queue. DPDK
// 22.11 zeroes them at the enable itself; 24.11 keeps counting across
// captures, so there the values read just before the enable are subtracted.
// False when the primary has no pdump statistics.
bool CaptureCounters(uint16_t port, uint32_t queue, uint32_t direction, uint64_t out[4]);
}  // namespace burstcap
