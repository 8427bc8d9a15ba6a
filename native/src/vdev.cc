// Outputs written through a net_pcap vdev, the way dpdk-pdump does it: the
// vdev is hotplugged through the primary (it exists in both processes), then
// started here with one tx queue that the worker bursts copies into.
#include "vdev.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "capture_ring.h"
#include "eal.h"
#include "errors.h"

namespace burstcap {

namespace {
constexpr const char* kVdevBus = "vdev";
constexpr uint16_t kTxDescriptors = 512;
constexpr uint16_t kRxDescriptors = 128;

// Removal goes through the primary, which then has every secondary (this
// one included) detach the device: closing it here first would free the
// driver's per-process state twice.
void RemoveQuietly(const std::string& name) { rte_eal_hotplug_remove(kVdevBus, name.c_str()); }
}  // namespace

// vdevCreate(name, args, ringId) -> port id of the started vdev
Napi::Value VdevCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string name = ArgString(info, 0, "name");
  std::string args = ArgString(info, 1, "args");
  auto ring = FindCaptureRing(ArgU32(info, 2, "ringId"));
  if (!ring) Throw(env, "NO_SUCH_RING", "unknown capture ring id");
  if (rte_eal_hotplug_add(kVdevBus, name.c_str(), args.c_str()) < 0) {
    int err = rte_errno;
    Throw(env, "VDEV_CREATE_FAILED", "cannot create vdev " + name + "," + args + ": " + rte_strerror(err), err);
  }
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
    RemoveQuietly(name);
    Throw(env, "VDEV_CREATE_FAILED", "vdev " + name + " was created but has no port");
  }
  rte_eth_conf conf = {};
  int ret = rte_eth_dev_configure(port, 1, 1, &conf);
  if (ret == 0) ret = rte_eth_rx_queue_setup(port, 0, kRxDescriptors, rte_eth_dev_socket_id(port), nullptr, ring->pool);
  if (ret == 0) ret = rte_eth_tx_queue_setup(port, 0, kTxDescriptors, rte_eth_dev_socket_id(port), nullptr);
  if (ret == 0) ret = rte_eth_dev_start(port);
  if (ret != 0) {
    RemoveQuietly(name);
    Throw(env, "VDEV_START_FAILED", "cannot start vdev " + name + ": " + rte_strerror(-ret), -ret);
  }
  return Napi::Number::New(env, port);
}

Napi::Value VdevRemove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string name = ArgString(info, 0, "name");
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) return Napi::Boolean::New(env, false);
  if (rte_eal_hotplug_remove(kVdevBus, name.c_str()) < 0) {
    int err = rte_errno;
    Throw(env, "VDEV_REMOVE_FAILED", "cannot remove vdev " + name + ": " + rte_strerror(err), err);
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace burstcap
