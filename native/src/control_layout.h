#pragma once
// The control blocks a drain worker shares with the main thread: BigInt64Arrays
// over SharedArrayBuffers. This header is their only definition: the addon
// exports every slot and value by name (controlLayout()), and
// src/workers/control.ts reads them from there, so TypeScript and C++ cannot
// disagree about an index.
#include <cstddef>
#include <cstdint>

namespace burstcap {

// One block per worker.
enum Slot : size_t {
  kControl = 0,    // written by main: a Control value
  kPackets = 1,    // records written
  kBytes = 2,      // captured bytes written
  kWireBytes = 3,  // original lengths
  kBursts = 4,
  kErrno = 5,
  kMalformed = 6,     // copies that were not pcapng blocks
  kOverQuota = 7,     // copies freed unwritten because -c was reached
  kQueued = 8,        // ring fill seen at the last poll
  kPolling = 9,       // 1 once the output is open and the loop runs: callbacks may start
  kTid = 10,          // written by the worker's JS: its thread id
  kCpu = 11,          // written by the worker's JS: the CPU it is pinned to
  kFilesClosed = 12,  // files this ring finished (rotation)
  kFileBytes = 13,    // size of the file being written
  kFilesFull = 14,    // 1 once -a files: is reached: the main thread stops the capture
  kSlotCount = 15,
};

// What main asks of a worker, in kControl.
enum Control : int64_t {
  kRun = 0,
  kFinish = 1,  // drain what is queued, then return: the callbacks are already disabled
  kAbort = 2,   // stop reading the ring and return
};

// One block shared by every worker of a capture.
enum SharedSlot : size_t {
  kQuota = 0,        // packets left for -c; every worker takes from it; -1 means no limit
  kClockOffset = 1,  // ns added to the primary's stamps; kOffsetUndecided until the first copy
  kSharedSlotCount = 2,
};
constexpr int64_t kOffsetUndecided = INT64_MIN;

struct LayoutName {
  const char* name;
  int64_t value;
};

// The names JavaScript uses for each of the above.
inline constexpr LayoutName kSlotNames[] = {
    {"Control", kControl},
    {"Packets", kPackets},
    {"Bytes", kBytes},
    {"WireBytes", kWireBytes},
    {"Bursts", kBursts},
    {"Errno", kErrno},
    {"Malformed", kMalformed},
    {"OverQuota", kOverQuota},
    {"Queued", kQueued},
    {"Polling", kPolling},
    {"Tid", kTid},
    {"Cpu", kCpu},
    {"FilesClosed", kFilesClosed},
    {"FileBytes", kFileBytes},
    {"FilesFull", kFilesFull},
};
inline constexpr LayoutName kControlNames[] = {{"Run", kRun}, {"Finish", kFinish}, {"Abort", kAbort}};
inline constexpr LayoutName kSharedSlotNames[] = {{"Quota", kQuota}, {"ClockOffset", kClockOffset}};

}  // namespace burstcap
