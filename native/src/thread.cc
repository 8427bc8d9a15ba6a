#include "thread.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"

namespace burstcap {

// pinThread(cpu, name?): binds the calling thread (a worker) to one CPU and
// names it so top/ps show which ring it drains.
Napi::Value PinThread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t cpu = ArgU32(info, 0, "cpu");
  if (cpu >= CPU_SETSIZE) throw Napi::RangeError::New(env, "cpu out of range");
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (ret != 0) Throw(env, "PIN_FAILED", "cannot pin thread to CPU " + std::to_string(cpu) + ": " + strerror(ret), ret);
  if (info.Length() > 1 && info[1].IsString()) {
    std::string name = info[1].As<Napi::String>().Utf8Value().substr(0, 15);
    pthread_setname_np(pthread_self(), name.c_str());
  }
  return env.Undefined();
}

// threadInfo() -> { tid, cpus }: the calling thread's kernel id and affinity.
Napi::Value ThreadInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof(set), &set);
  Napi::Array cpus = Napi::Array::New(env);
  uint32_t n = 0;
  for (int i = 0; i < CPU_SETSIZE; i++) {
    if (CPU_ISSET(i, &set)) cpus.Set(n++, Napi::Number::New(env, i));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("tid", Napi::Number::New(env, static_cast<double>(syscall(SYS_gettid))));
  out.Set("cpus", cpus);
  return out;
}

// exitNow(code): ends the process at once, without joining threads. Node's
// own exit joins every worker thread, and a worker blocked in a write to a
// stalled filesystem never returns: the stop has already disabled the
// callbacks and reported, so nothing is left that needs the orderly exit.
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 ? info[0].ToNumber().Int32Value() : 1;
  _exit(code);
}

}  // namespace burstcap
