// burstcap's native side: one module, split by resource (EAL, capture rings,
// pdump callbacks and their filters, vdevs, the drain loop, the pcap writer
// and merge).
#include <napi.h>

#include "capture_ring.h"
#include "drain.h"
#include "eal.h"
#include "errors.h"
#include "filter.h"
#include "liveness.h"
#include "mempool_ops.h"
#include "merge.h"
#include "pcap_writer.h"
#include "pcapng_writer.h"
#include "pdump.h"
#include "ports.h"
#include "telemetry.h"
#include "thread.h"
#include "vdev.h"

namespace burstcap {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("setErrorFactory", SetErrorFactory);
  fn("ealState", EalState);
  fn("attach", Attach);
  fn("detach", Detach);
  fn("reexec", ReExec);
  fn("primaryPid", PrimaryPid);
  fn("clockRef", ClockRef);
  fn("ealLog", EalLog);
  fn("version", Version);
  fn("alignMempoolOps", AlignMempoolOps);
  fn("localMempoolOps", LocalMempoolOps);
  fn("createCaptureRing", CreateCaptureRing);
  fn("destroyCaptureRing", DestroyCaptureRing);
  fn("captureRingInfo", CaptureRingInfo);
  fn("listSharedObjects", ListSharedObjects);
  fn("freeStaleObject", FreeStaleObject);
  fn("sharedObjectFacts", SharedObjectFacts);
  fn("checkFilter", CheckFilter);
  fn("createFilter", CreateFilter);
  fn("destroyFilter", DestroyFilter);
  fn("pdumpReady", PdumpReady);
  fn("pdumpEnable", PdumpEnable);
  fn("pdumpDisable", PdumpDisable);
  fn("pdumpQueueStats", PdumpQueueStats);
  fn("pdumpTracked", PdumpTracked);
  fn("pdumpEmergencyDisable", PdumpEmergencyDisable);
  fn("pdumpHurry", PdumpHurry);
  fn("listPorts", ListPorts);
  fn("portByName", PortByName);
  fn("vdevCreate", VdevCreate);
  fn("vdevRemove", VdevRemove);
  fn("drain", Drain);
  fn("drainClosedFiles", DrainClosedFiles);
  fn("drainCurrentFile", DrainCurrentFile);
  fn("controlLayout", ControlLayout);
  fn("mergePcaps", MergePcaps);
  fn("telemetryQuery", TelemetryQuery);
  fn("pinThread", PinThread);
  fn("threadInfo", ThreadInfo);
  fn("exitNow", ExitNow);
  fn("lockFile", LockFile);
  fn("unlockFile", UnlockFile);
  fn("lockHeld", LockHeld);
  fn("socketAnswers", SocketAnswers);
  exports.Set("PcapFileWriter", PcapFileWriter::Define(env));
  exports.Set("PcapngFileWriter", PcapngFileWriter::Define(env));
  return exports;
}

}  // namespace burstcap

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return burstcap::Init(env, exports); }

NODE_API_MODULE(burstcap, InitAddon)
