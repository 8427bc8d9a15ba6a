#include "liveness.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"

namespace burstcap {

// flock(2), not fcntl locks: an flock belongs to the open file description,
// so it survives the re-exec burstcap may do while attaching only if the fd
// does, and it is released by the kernel however the holder dies (kill -9
// included). Any process that can see the file sees the lock, whatever its
// PID namespace.
Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  bool exclusive = info.Length() > 1 && info[1].ToBoolean().Value();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    Throw(env, "LOCK_OPEN_FAILED", "cannot open lock file " + path + ": " + strerror(err), err);
  }
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Napi::Number::New(env, -1);
    Throw(env, "LOCK_FAILED", "cannot lock " + path + ": " + strerror(err), err);
  }
  return Napi::Number::New(env, fd);
}

Napi::Value UnlockFile(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(info[0].ToNumber().Int32Value());
  if (fd >= 0) close(fd);  // closing the only descriptor releases the flock
  return info.Env().Undefined();
}

Napi::Value LockHeld(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Napi::Boolean::New(env, false);  // no file, no holder
  // A shared lock is refused only while someone holds the exclusive one.
  bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return Napi::Boolean::New(env, held);
}

// connect(2) on an AF_UNIX datagram socket succeeds only while a process has
// a socket bound to that path; a dead process's file gives ECONNREFUSED.
// Nothing is sent, so the owner (an EAL mp socket) never sees the probe.
Napi::Value SocketAnswers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Napi::String::New(env, "unknown");
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::String::New(env, "unknown");
  int ret = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  if (ret == 0) return Napi::String::New(env, "live");
  if (err == ECONNREFUSED || err == ENOENT) return Napi::String::New(env, "dead");
  return Napi::String::New(env, "unknown");
}

}  // namespace burstcap
