#include "capture_ring.h"

#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_tailq.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_memzone.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "eal.h"
#include "errors.h"

namespace burstcap {

namespace {
// The per-lcore cache serves the primary's lcores, which allocate the copies.
constexpr unsigned kPoolCacheSize = 250;
// Pool ops both processes agree on once mempool_ops.cc has aligned the tables.
constexpr const char* kPoolOps = "ring_mp_mc";

std::mutex g_mutex;
std::map<uint32_t, std::shared_ptr<CaptureRing>> g_rings;
uint32_t g_next_id = 1;

void FreeResources(CaptureRing& c) {
  if (c.ring != nullptr) {
    // Copies still queued belong to the pool: return them before freeing it.
    void* obj = nullptr;
    while (rte_ring_dequeue(c.ring, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    rte_ring_free(c.ring);
    c.ring = nullptr;
  }
  if (c.pool != nullptr) {
    rte_mempool_free(c.pool);
    c.pool = nullptr;
  }
}
}  // namespace

std::shared_ptr<CaptureRing> FindCaptureRing(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_rings.find(id);
  return it == g_rings.end() ? nullptr : it->second;
}

// createCaptureRing(ringName, poolName, ringSize, nbMbufs, mbufSize) -> id
Napi::Value CreateCaptureRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string ring_name = ArgString(info, 0, "ringName");
  std::string pool_name = ArgString(info, 1, "poolName");
  uint32_t ring_size = ArgU32(info, 2, "ringSize");
  uint32_t nb_mbufs = ArgU32(info, 3, "nbMbufs");
  uint32_t mbuf_size = ArgU32(info, 4, "mbufSize");
  if (mbuf_size > UINT16_MAX || mbuf_size <= RTE_PKTMBUF_HEADROOM) {
    Throw(env, "BAD_MBUF_SIZE", "mbuf-size must be between " + std::to_string(RTE_PKTMBUF_HEADROOM + 1) + " and 65535");
  }
  auto c = std::make_shared<CaptureRing>();
  c->ring_name = ring_name;
  c->pool_name = pool_name;
  c->pool = rte_pktmbuf_pool_create_by_ops(pool_name.c_str(), nb_mbufs, kPoolCacheSize, 0,
                                           static_cast<uint16_t>(mbuf_size), rte_socket_id(), kPoolOps);
  if (c->pool == nullptr) {
    int err = rte_errno;
    Throw(env, err == EEXIST ? "POOL_EXISTS" : "POOL_CREATE_FAILED",
          "cannot create mbuf pool " + pool_name + " (" + std::to_string(nb_mbufs) + " mbufs of " +
              std::to_string(mbuf_size) + " bytes): " + rte_strerror(err),
          err);
  }
  // Multi-producer/multi-consumer: rte_pdump_enable refuses single-ended rings
  // even though exactly one worker consumes it.
  c->ring = rte_ring_create(ring_name.c_str(), ring_size, rte_socket_id(), 0);
  if (c->ring == nullptr) {
    int err = rte_errno;
    FreeResources(*c);
    Throw(env, err == EEXIST ? "RING_EXISTS" : "RING_CREATE_FAILED",
          "cannot create ring " + ring_name + " of size " + std::to_string(ring_size) + ": " + rte_strerror(err), err);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  c->id = g_next_id++;
  g_rings[c->id] = c;
  return Napi::Number::New(env, c->id);
}

Napi::Value DestroyCaptureRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = ArgU32(info, 0, "id");
  std::shared_ptr<CaptureRing> c;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_rings.find(id);
    if (it == g_rings.end()) return Napi::Boolean::New(env, false);  // already gone: teardown is idempotent
    if (it->second->draining.load())
      Throw(env, "RING_IN_USE", "ring " + it->second->ring_name + " is still being drained");
    c = it->second;
    g_rings.erase(it);
  }
  FreeResources(*c);
  return Napi::Boolean::New(env, true);
}

Napi::Value CaptureRingInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto c = FindCaptureRing(ArgU32(info, 0, "id"));
  if (!c) Throw(env, "NO_SUCH_RING", "unknown capture ring id");
  Napi::Object out = Napi::Object::New(env);
  out.Set("ring", Napi::String::New(env, c->ring_name));
  out.Set("pool", Napi::String::New(env, c->pool_name));
  out.Set("ringCount", Napi::Number::New(env, c->ring ? rte_ring_count(c->ring) : 0));
  out.Set("ringCapacity", Napi::Number::New(env, c->ring ? rte_ring_get_capacity(c->ring) : 0));
  out.Set("poolAvailable", Napi::Number::New(env, c->pool ? rte_mempool_avail_count(c->pool) : 0));
  out.Set("poolInUse", Napi::Number::New(env, c->pool ? rte_mempool_in_use_count(c->pool) : 0));
  return out;
}

// Every memzone in the primary's shared memory, by name: used to find what
// an earlier capture left behind and to check that nothing leaks.
Napi::Value ListSharedObjects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  struct Walk {
    Napi::Env env;
    Napi::Array arr;
    uint32_t n;
  } walk{env, Napi::Array::New(env), 0};
  rte_memzone_walk(
      [](const rte_memzone* mz, void* arg) {
        auto* w = static_cast<Walk*>(arg);
        Napi::Object o = Napi::Object::New(w->env);
        o.Set("name", Napi::String::New(w->env, mz->name));
        o.Set("len", Napi::Number::New(w->env, static_cast<double>(mz->len)));
        w->arr.Set(w->n++, o);
      },
      &walk);
  return walk.arr;
}

// A pool made by another process cannot go through rte_mempool_free(): its
// memory chunks carry free callbacks that are addresses in the creator's
// image, and its ops index means something else here unless the two
// processes agree on the ops order. So undo it piece by piece, with names
// and shared structures only: unlink it from the shared pool list, free the
// ring that holds its free objects, then every memzone named after it.
bool FreeForeignPool(const std::string& name) {
  std::string header = std::string(RTE_MEMPOOL_MZ_PREFIX) + name;
  // The pool struct sits at the start of its header memzone; going through the
  // memzone also finds a pool already unlinked from the list by a failed free.
  const rte_memzone* header_mz = rte_memzone_lookup(header.c_str());
  rte_mempool* mp =
      header_mz != nullptr ? static_cast<rte_mempool*>(header_mz->addr) : rte_mempool_lookup(name.c_str());
  if (mp == nullptr) return false;
  rte_tailq_head* head = rte_eal_tailq_lookup("RTE_MEMPOOL");
  rte_tailq_entry* found = nullptr;
  if (head != nullptr) {
    rte_mcfg_tailq_write_lock();
    rte_tailq_entry* te = nullptr;
    TAILQ_FOREACH(te, &head->tailq_head, next) {
      if (te->data == mp) {
        found = te;
        break;
      }
    }
    if (found != nullptr) TAILQ_REMOVE(&head->tailq_head, found, next);
    rte_mcfg_tailq_write_unlock();
  }
  rte_free(found);
  // One header per populated memory chunk, allocated from the shared heap.
  while (rte_mempool_memhdr* hdr = STAILQ_FIRST(&mp->mem_list)) {
    STAILQ_REMOVE_HEAD(&mp->mem_list, next);
    rte_free(hdr);
  }
  // Ring-based pools keep their free objects in a ring named MP_<pool>.
  if (rte_ring* r = rte_ring_lookup(header.c_str())) rte_ring_free(r);
  std::vector<std::string> zones;
  std::pair<std::string, std::vector<std::string>*> ctx(header, &zones);
  rte_memzone_walk(
      [](const rte_memzone* mz, void* arg) {
        auto* z = static_cast<std::pair<std::string, std::vector<std::string>*>*>(arg);
        std::string n = mz->name;
        // The header zone MP_<pool> and its chunks MP_<pool>_<n>.
        if (n == z->first || (n.rfind(z->first + "_", 0) == 0 &&
                              n.find_first_not_of("0123456789", z->first.size() + 1) == std::string::npos)) {
          z->second->push_back(n);
        }
      },
      &ctx);
  // The header zone holds the pool struct itself: free it last.
  for (auto it = zones.rbegin(); it != zones.rend(); ++it) {
    if (*it == header) continue;
    if (const rte_memzone* mz = rte_memzone_lookup(it->c_str())) rte_memzone_free(mz);
  }
  if (const rte_memzone* mz = rte_memzone_lookup(header.c_str())) rte_memzone_free(mz);
  return true;
}

namespace {
std::string Hex(uintptr_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// Only addresses inside the shared memory segments may be followed: a
// stale object can hold anything.
bool InSharedMemory(const void* p) { return p != nullptr && rte_mem_virt2memseg(p, nullptr) != nullptr; }
}  // namespace

// sharedObjectFacts(kind: 'ring'|'pool', name) -> facts about an object some
// other process created, or null when there is none by that name. The
// evidence cleanup weighs before it calls an object a dead tool's:
// pool: its cache size, flags, and the free callbacks of its memory chunks,
//   which are code addresses in the image of the process that populated it;
// ring: its flags, its fill, and the pool of the first copy queued in it.
Napi::Value SharedObjectFacts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string kind = ArgString(info, 0, "kind");
  std::string name = ArgString(info, 1, "name");
  Napi::Object out = Napi::Object::New(env);
  if (kind == "pool") {
    std::string header = std::string(RTE_MEMPOOL_MZ_PREFIX) + name;
    const rte_memzone* mz = rte_memzone_lookup(header.c_str());
    const rte_mempool* mp = mz != nullptr ? static_cast<const rte_mempool*>(mz->addr) : nullptr;
    if (mp == nullptr) return env.Null();
    out.Set("cacheSize", Napi::Number::New(env, mp->cache_size));
    out.Set("flags", Napi::Number::New(env, mp->flags));
    out.Set("size", Napi::Number::New(env, mp->size));
    Napi::Array cbs = Napi::Array::New(env);
    uint32_t n = 0;
    const rte_mempool_memhdr* hdr = nullptr;
    STAILQ_FOREACH(hdr, &mp->mem_list, next) {
      if (!InSharedMemory(hdr)) break;
      cbs.Set(n++, Napi::String::New(env, Hex(reinterpret_cast<uintptr_t>(hdr->free_cb))));
    }
    out.Set("freeCallbacks", cbs);
    return out;
  }
  if (kind == "ring") {
    const rte_ring* r = rte_ring_lookup(name.c_str());
    if (r == nullptr) return env.Null();
    unsigned count = rte_ring_count(r);
    out.Set("flags", Napi::Number::New(env, r->flags));
    out.Set("count", Napi::Number::New(env, count));
    std::string pool;
    if (count > 0) {
      // The slot the consumer would take next (the owner is gone: nobody moves it).
      const void* const* slots = reinterpret_cast<const void* const*>(&r[1]);
      const void* obj = slots[r->cons.tail & r->mask];
      const rte_mbuf* m = static_cast<const rte_mbuf*>(obj);
      if (InSharedMemory(m) && InSharedMemory(m->pool)) pool = m->pool->name;
    }
    out.Set("queuedPool", Napi::String::New(env, pool));
    return out;
  }
  Throw(env, "BAD_KIND", "kind must be 'ring' or 'pool'");
}

// freeStaleObject(kind: 'ring'|'pool', name): frees a ring or pool that a dead
// capture process created. The caller must have disabled every callback that
// could still point at it.
Napi::Value FreeStaleObject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  std::string kind = ArgString(info, 0, "kind");
  std::string name = ArgString(info, 1, "name");
  if (kind == "pool") return Napi::Boolean::New(env, FreeForeignPool(name));
  if (kind == "ring") {
    rte_ring* r = rte_ring_lookup(name.c_str());
    if (r == nullptr) return Napi::Boolean::New(env, false);
    // Queued copies come from the dead process's pool, which is freed next.
    rte_ring_free(r);
    return Napi::Boolean::New(env, true);
  }
  Throw(env, "BAD_KIND", "kind must be 'ring' or 'pool'");
}

}  // namespace burstcap
