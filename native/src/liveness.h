// Telling a live process from a dead one without trusting pids, which mean
// nothing across PID namespaces: a lock that dies with its holder, and a
// datagram socket that accepts a connection only while its owner is alive.
#pragma once
#include <napi.h>

namespace burstcap {

// lockFile(path, exclusive) -> fd, or -1 when another process holds it.
Napi::Value LockFile(const Napi::CallbackInfo& info);
// unlockFile(fd): releases and closes.
Napi::Value UnlockFile(const Napi::CallbackInfo& info);
// lockHeld(path) -> true while some process holds a lock on the file.
Napi::Value LockHeld(const Napi::CallbackInfo& info);
// socketAnswers(path) -> 'live' | 'dead' | 'unknown'.
Napi::Value SocketAnswers(const Napi::CallbackInfo& info);

}  // namespace burstcap
