// The primary's telemetry socket answers questions without EAL: its version,
// its EAL arguments (lcores in use), its ports. Node has no SOCK_SEQPACKET,
// hence this small native client.
#include "telemetry.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

#include "errors.h"

namespace burstcap {

namespace {
constexpr size_t kMaxReply = 1 << 16;
constexpr int kTimeoutMs = 1000;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

bool Recv(int fd, std::string* out) {
  std::vector<char> buf(kMaxReply);
  ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return false;
  out->assign(buf.data(), static_cast<size_t>(n));
  return true;
}
}  // namespace

Napi::Value TelemetryQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "socketPath");
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "commands must be an array");
  Napi::Array cmds = info[1].As<Napi::Array>();
  Fd sock{socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) Throw(env, "TELEMETRY_FAILED", std::string("socket: ") + strerror(errno), errno);
  struct timeval tv = {kTimeoutMs / 1000, (kTimeoutMs % 1000) * 1000};
  setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(sock.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) Throw(env, "TELEMETRY_FAILED", "socket path too long: " + path);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    Throw(env, "TELEMETRY_UNAVAILABLE", "cannot connect to " + path + ": " + strerror(err), err);
  }
  std::string greeting;
  if (!Recv(sock.fd, &greeting)) Throw(env, "TELEMETRY_FAILED", "no greeting from " + path, errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("greeting", Napi::String::New(env, greeting));
  Napi::Array replies = Napi::Array::New(env, cmds.Length());
  for (uint32_t i = 0; i < cmds.Length(); i++) {
    std::string cmd = cmds.Get(i).ToString().Utf8Value();
    std::string reply;
    if (send(sock.fd, cmd.data(), cmd.size(), 0) < 0 || !Recv(sock.fd, &reply)) {
      int err = errno;
      Throw(env, "TELEMETRY_FAILED", "telemetry command " + cmd + " failed: " + strerror(err), err);
    }
    replies.Set(i, Napi::String::New(env, reply));
  }
  out.Set("replies", replies);
  return out;
}

}  // namespace burstcap
