#include "ports.h"

#include <rte_ethdev.h>

#include "eal.h"
#include "errors.h"

namespace burstcap {

namespace {
std::string FormatMac(const rte_ether_addr& a) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof(buf), &a);
  return buf;
}
}  // namespace

// Ports as the primary configured them: the secondary sees the shared
// device data, so queue counts are the primary's, not the driver maxima.
Napi::Value ListPorts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  uint16_t port;
  RTE_ETH_FOREACH_DEV(port) {
    Napi::Object o = Napi::Object::New(env);
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(port, name);
    rte_eth_dev_info dev = {};
    int info_ret = rte_eth_dev_info_get(port, &dev);
    rte_ether_addr mac = {};
    rte_eth_macaddr_get(port, &mac);
    rte_eth_link link = {};
    int link_ret = rte_eth_link_get_nowait(port, &link);
    o.Set("port", Napi::Number::New(env, port));
    o.Set("name", Napi::String::New(env, name));
    o.Set("driver", Napi::String::New(env, info_ret == 0 && dev.driver_name ? dev.driver_name : ""));
    o.Set("mac", Napi::String::New(env, FormatMac(mac)));
    o.Set("rxQueues", Napi::Number::New(env, info_ret == 0 ? dev.nb_rx_queues : 0));
    o.Set("txQueues", Napi::Number::New(env, info_ret == 0 ? dev.nb_tx_queues : 0));
    o.Set("socket", Napi::Number::New(env, rte_eth_dev_socket_id(port)));
    o.Set("linkUp", Napi::Boolean::New(env, link_ret == 0 && link.link_status == RTE_ETH_LINK_UP));
    o.Set("linkSpeedMbps", Napi::Number::New(env, link_ret == 0 ? link.link_speed : 0));
    out.Set(n++, o);
  }
  return out;
}

Napi::Value PortByName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string name = ArgString(info, 0, "name");
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) return Napi::Number::New(env, -1);
  return Napi::Number::New(env, port);
}

}  // namespace burstcap
