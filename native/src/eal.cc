#include "eal.h"

#include <dirent.h>
#include <fcntl.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_service_component.h>
#include <rte_version.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "eal_log.h"
#include "errors.h"
#include "pdump.h"

namespace burstcap {

namespace {
std::atomic<int> g_state{0};  // 0 never tried, 1 attached, 2 failed (EAL cannot be retried), 3 detached

constexpr size_t kLogLinesInErrors = 12;

// EAL keeps pointers into argv for the life of the process.
char** LeakedArgv(const std::vector<std::string>& args) {
  char** argv = new char*[args.size() + 1];
  for (size_t i = 0; i < args.size(); i++) argv[i] = strdup(args[i].c_str());
  argv[args.size()] = nullptr;
  return argv;
}

// The primary's hugepage memory must be mapped at the addresses it has in the
// primary; Node's own reservations sometimes sit there. That is a property of
// this process image, not of the primary: a fresh image (execve) fixes it.
bool IsAddressConflict(const std::string& log) {
  return log.find("Cannot reserve") != std::string::npos || log.find("base-virtaddr") != std::string::npos ||
         log.find("Cannot mmap memory for rte_config") != std::string::npos ||
         log.find("Could not map memory") != std::string::npos;
}
}  // namespace

bool EalAttached() { return g_state.load() == 1; }

// What JS needs to refuse a second capture before it touches anything: EAL
// keeps global state that rte_eal_cleanup() does not reset, so a process gets
// one rte_eal_init(), whether it succeeded, failed or was cleaned up.
Napi::Value EalState(const Napi::CallbackInfo& info) {
  static const char* const kNames[] = {"unused", "attached", "failed", "detached"};
  int state = g_state.load();
  return Napi::String::New(info.Env(), kNames[state >= 0 && state <= 3 ? state : 2]);
}

void RequireEal(Napi::Env env) {
  if (!EalAttached()) Throw(env, "EAL_NOT_ATTACHED", "not attached to a DPDK primary (attach() first)");
}

Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "attach expects an array of EAL arguments");
  bool echo = info.Length() > 1 && info[1].ToBoolean().Value();
  int expected = 0;
  if (!g_state.compare_exchange_strong(expected, 2)) {
    Throw(env, "EAL_ALREADY_USED",
          "DPDK's EAL was already initialised in this process and can be initialised only once: run each capture in "
          "its own process");
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < arr.Length(); i++) args.push_back(arr.Get(i).ToString().Utf8Value());

  InstallEalLog(echo);
  // EAL pins the calling thread to the main lcore's CPU and every thread
  // created afterwards inherits that: keep Node's own CPU set.
  cpu_set_t saved;
  CPU_ZERO(&saved);
  bool have_saved = sched_getaffinity(0, sizeof(saved), &saved) == 0;

  char** argv = LeakedArgv(args);
  // rte_eal_init_alert() also prints to stderr directly; the same words are in
  // the log stream, which errors carry. Quiet unless the user asked for it.
  int saved_stderr = -1;
  if (!echo) {
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    saved_stderr = dup(STDERR_FILENO);
    if (devnull >= 0 && saved_stderr >= 0) dup2(devnull, STDERR_FILENO);
    if (devnull >= 0) close(devnull);
  }
  int ret = rte_eal_init(static_cast<int>(args.size()), argv);
  int err = rte_errno;
  if (saved_stderr >= 0) {
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
  }
  if (have_saved) sched_setaffinity(0, sizeof(saved), &saved);
  if (ret < 0) {
    std::string log = EalLogTail(kLogLinesInErrors);
    if (IsAddressConflict(log)) {
      Throw(env, "EAL_ADDRESS_CONFLICT", "the primary's memory could not be mapped at its addresses in this process",
            err, log);
    }
    Throw(env, "EAL_INIT_FAILED", std::string("rte_eal_init failed: ") + rte_strerror(err), err, log);
  }
  g_state.store(1);
  // Every secondary allocates EAL's service-core tables (~150 KB) in the
  // primary's shared heap and frees them only in rte_eal_cleanup(): a killed
  // capture would leak them for the primary's lifetime. burstcap runs no
  // service cores, so it gives them back at once.
  rte_service_finalize();
  Napi::Object out = Napi::Object::New(env);
  out.Set("mainLcore", Napi::Number::New(env, rte_get_main_lcore()));
  out.Set("socket", Napi::Number::New(env, rte_socket_id()));
  out.Set("tscHz", Napi::Number::New(env, static_cast<double>(rte_get_tsc_hz())));
  return out;
}

// detach() -> false when EAL was left attached: a request to the primary is
// still waiting for its answer on another thread, and rte_eal_cleanup() would
// free the IPC state under it. The process exit ends both.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (PdumpRequestsInFlight()) return Napi::Boolean::New(env, false);
  int expected = 1;
  if (g_state.compare_exchange_strong(expected, 3)) rte_eal_cleanup();
  return Napi::Boolean::New(env, true);
}

// Replaces this process image with a fresh one running the same command line:
// same pid, same stdio, same environment (the caller records the attempt in it).
Napi::Value ReExec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string runtime_dir = ArgString(info, 0, "runtimeDir");
  // The failed attempt left its multi-process socket behind; the primary would
  // otherwise keep a dead peer in its broadcast list until it notices.
  std::string mine = "mp_socket_" + std::to_string(getpid()) + "_";
  if (DIR* dir = opendir(runtime_dir.c_str())) {
    while (dirent* ent = readdir(dir)) {
      if (strncmp(ent->d_name, mine.c_str(), mine.size()) == 0) unlinkat(dirfd(dir), ent->d_name, 0);
    }
    closedir(dir);
  }
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < raw.size(); i++) {
    if (raw[i] == '\0') {
      args.push_back(raw.substr(start, i - start));
      start = i + 1;
    }
  }
  if (args.empty()) Throw(env, "REEXEC_FAILED", "cannot read this process's command line");
  // Node marks its stdio close-on-exec; the new image must keep them.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  char** argv = LeakedArgv(args);
  execv("/proc/self/exe", argv);
  Throw(env, "REEXEC_FAILED", std::string("execv failed: ") + strerror(errno), errno);
}

// The primary holds a write lock on its config file for its whole life:
// F_GETLK names the holder, so a stale file is told apart from a live primary.
Napi::Value PrimaryPid(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "configPath");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Napi::Number::New(info.Env(), 0);
  struct flock lk = {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  lk.l_start = 0;
  lk.l_len = 0;
  int pid = 0;
  if (fcntl(fd, F_GETLK, &lk) == 0 && lk.l_type != F_UNLCK) pid = lk.l_pid;
  close(fd);
  return Napi::Number::New(info.Env(), pid);
}

// One (TSC, wall clock) pair for the whole capture: every worker converts
// with the same reference, so merged files order consistently.
Napi::Value ClockRef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct timespec ts;
  uint64_t before = rte_rdtsc();
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t after = rte_rdtsc();
  uint64_t hz = EalAttached() ? rte_get_tsc_hz() : 0;
  Napi::Object out = Napi::Object::New(env);
  out.Set("tsc", Napi::BigInt::New(env, static_cast<uint64_t>(before + (after - before) / 2)));
  out.Set("ns", Napi::BigInt::New(env, static_cast<uint64_t>(ts.tv_sec * 1000000000ll + ts.tv_nsec)));
  out.Set("hz", Napi::BigInt::New(env, static_cast<uint64_t>(hz)));
  return out;
}

Napi::Value EalLog(const Napi::CallbackInfo& info) {
  uint32_t lines = info.Length() > 0 ? ArgU32(info, 0, "lines") : 50;
  if (info.Length() > 1) SetEalLogEcho(info[1].ToBoolean().Value());
  return Napi::String::New(info.Env(), EalLogTail(lines));
}

Napi::Value Version(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), rte_version()); }

}  // namespace burstcap
