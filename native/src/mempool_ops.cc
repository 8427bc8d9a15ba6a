// A mempool shared by two processes stores only an index into each process's
// private table of mempool ops. The table is filled by constructors in library
// load order, so a primary that links a driver directly (Debian's testpmd
// links librte_mempool_dpaa) and a secondary that loads it as a plugin get
// different orders: the same index then means "ring" in one process and
// "dpaa" in the other, and every copy the primary makes into our pool fails.
//
// The fix is to read the primary's table out of its memory and permute ours
// to match before creating any pool. Where the table lives in the primary is
// decided the way the dynamic linker decides it: an executable that uses the
// table from inline code gets a copy-relocated definition of its own, which
// wins over the library's; otherwise it is librte_mempool's. The table is
// read with the layout of the headers this addon was built with, the
// primary's when the release check passed (2112 bytes on x86_64 in both
// DPDK 22.11 and 24.11: lock, count, 16 ops of 128 bytes).
#include "mempool_ops.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <rte_mempool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <string.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "eal.h"
#include "errors.h"

namespace burstcap {

namespace {

std::vector<std::string> Names(const struct rte_mempool_ops_table& table) {
  std::vector<std::string> out;
  uint32_t n = table.num_ops < RTE_MEMPOOL_MAX_OPS_IDX ? table.num_ops : RTE_MEMPOOL_MAX_OPS_IDX;
  for (uint32_t i = 0; i < n; i++)
    out.emplace_back(table.ops[i].name, strnlen(table.ops[i].name, RTE_MEMPOOL_OPS_NAMESIZE));
  return out;
}

Napi::Array ToArray(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, v[i]));
  return a;
}

// Start address of the primary's mapping of the file with this inode at offset 0.
uintptr_t FindBaseInProcess(int pid, dev_t dev, ino_t ino) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, devstr;
    unsigned long inode = 0;
    in >> range >> perms >> offset >> devstr >> inode;
    if (inode != ino || std::stoull(offset, nullptr, 16) != 0) continue;
    unsigned int major = 0, minor = 0;
    if (sscanf(devstr.c_str(), "%x:%x", &major, &minor) != 2) continue;
    if (makedev(major, minor) != dev) continue;
    return static_cast<uintptr_t>(std::stoull(range.substr(0, range.find('-')), nullptr, 16));
  }
  return 0;
}

// Value of a defined symbol in an ELF file's .dynsym or .symtab, and whether
// the file is position independent (its values are relative to the load base).
bool FindSymbol(const std::string& path, const char* name, uint64_t* value, bool* relative) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st = {};
  bool found = false;
  if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    size_t size = static_cast<size_t>(st.st_size);
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      const auto* base = static_cast<const uint8_t*>(map);
      const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
      bool sane = memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
                  eh->e_shoff + static_cast<uint64_t>(eh->e_shnum) * sizeof(Elf64_Shdr) <= size;
      if (sane) {
        *relative = eh->e_type == ET_DYN;
        const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
        for (int pass = 0; pass < 2 && !found; pass++) {
          uint32_t want = pass == 0 ? SHT_DYNSYM : SHT_SYMTAB;
          for (uint16_t i = 0; i < eh->e_shnum && !found; i++) {
            if (sh[i].sh_type != want || sh[i].sh_link >= eh->e_shnum) continue;
            const Elf64_Shdr& strtab = sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > size || strtab.sh_offset + strtab.sh_size > size) continue;
            const auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
            size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
            const char* strs = reinterpret_cast<const char*>(base + strtab.sh_offset);
            for (size_t k = 0; k < count; k++) {
              if (syms[k].st_shndx == SHN_UNDEF || syms[k].st_name >= strtab.sh_size) continue;
              if (strcmp(strs + syms[k].st_name, name) == 0) {
                *value = syms[k].st_value;
                found = true;
                break;
              }
            }
          }
        }
      }
      munmap(map, size);
    }
  }
  close(fd);
  return found;
}

// Path and load base of the primary's main executable.
bool ExecutableOf(int pid, std::string* path, uintptr_t* base) {
  char buf[4096];
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  struct stat st = {};
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) != 0) return false;
  *path = "/proc/" + std::to_string(pid) + "/exe";
  *base = FindBaseInProcess(pid, st.st_dev, st.st_ino);
  return *base != 0;
}

}  // namespace

Napi::Value LocalMempoolOps(const Napi::CallbackInfo& info) {
  return ToArray(info.Env(), Names(rte_mempool_ops_table));
}

Napi::Value AlignMempoolOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireEal(env);
  int pid = static_cast<int>(ArgU32(info, 0, "primaryPid"));
  Napi::Object out = Napi::Object::New(env);
  std::vector<std::string> local = Names(rte_mempool_ops_table);
  out.Set("localBefore", ToArray(env, local));

  constexpr const char* kSymbol = "rte_mempool_ops_table";
  uintptr_t remote_addr = 0;
  std::string exe;
  uintptr_t exe_base = 0;
  uint64_t value = 0;
  bool relative = false;
  if (ExecutableOf(pid, &exe, &exe_base) && FindSymbol(exe, kSymbol, &value, &relative)) {
    remote_addr = static_cast<uintptr_t>(value) + (relative ? exe_base : 0);
  } else {
    Dl_info dl = {};
    if (dladdr(&rte_mempool_ops_table, &dl) == 0 || dl.dli_fname == nullptr) {
      Throw(env, "MEMPOOL_OPS_UNKNOWN", "cannot locate librte_mempool in this process");
    }
    struct stat st = {};
    if (stat(dl.dli_fname, &st) != 0)
      Throw(env, "MEMPOOL_OPS_UNKNOWN", std::string("cannot stat ") + dl.dli_fname, errno);
    uintptr_t remote_base = FindBaseInProcess(pid, st.st_dev, st.st_ino);
    if (remote_base == 0) {
      Throw(env, "MEMPOOL_OPS_UNREADABLE",
            std::string("the primary (pid ") + std::to_string(pid) + ") maps neither a definition of " + kSymbol +
                " nor " + dl.dli_fname + ": it was built against another DPDK");
    }
    remote_addr =
        remote_base + (reinterpret_cast<uintptr_t>(&rte_mempool_ops_table) - reinterpret_cast<uintptr_t>(dl.dli_fbase));
  }
  struct rte_mempool_ops_table remote;
  struct iovec here = {&remote, sizeof(remote)};
  struct iovec there = {reinterpret_cast<void*>(remote_addr), sizeof(remote)};
  ssize_t got = process_vm_readv(pid, &here, 1, &there, 1, 0);
  if (got != static_cast<ssize_t>(sizeof(remote))) {
    int err = errno;
    Throw(env, "MEMPOOL_OPS_UNREADABLE",
          std::string("cannot read the primary's mempool ops table (pid ") + std::to_string(pid) +
              "): " + strerror(err) +
              (err == EPERM ? "; run burstcap as root or as the primary's user with ptrace allowed" : ""),
          err);
  }
  std::vector<std::string> primary = Names(remote);
  out.Set("primary", ToArray(env, primary));

  // New order: the primary's names at the primary's indexes, then whatever
  // only this process has. An op the primary has and we lack leaves a slot
  // no shared pool of ours will ever use.
  struct rte_mempool_ops_table& table = rte_mempool_ops_table;
  std::vector<rte_mempool_ops> reordered;
  std::vector<bool> used(local.size(), false);
  for (const std::string& name : primary) {
    rte_mempool_ops slot = {};
    for (size_t j = 0; j < local.size(); j++) {
      if (!used[j] && local[j] == name) {
        slot = table.ops[j];
        used[j] = true;
        break;
      }
    }
    if (slot.name[0] == '\0') snprintf(slot.name, sizeof(slot.name), "absent:%s", name.c_str());
    reordered.push_back(slot);
  }
  for (size_t j = 0; j < local.size(); j++) {
    if (!used[j]) reordered.push_back(table.ops[j]);
  }
  if (reordered.size() > RTE_MEMPOOL_MAX_OPS_IDX) reordered.resize(RTE_MEMPOOL_MAX_OPS_IDX);

  bool changed = false;
  for (size_t i = 0; i < reordered.size(); i++) {
    if (i >= local.size() || strncmp(reordered[i].name, table.ops[i].name, RTE_MEMPOOL_OPS_NAMESIZE) != 0)
      changed = true;
  }
  if (changed) {
    rte_spinlock_lock(&table.sl);
    for (size_t i = 0; i < reordered.size(); i++) table.ops[i] = reordered[i];
    table.num_ops = static_cast<uint32_t>(reordered.size());
    rte_spinlock_unlock(&table.sl);
  }
  out.Set("changed", Napi::Boolean::New(env, changed));
  out.Set("localAfter", ToArray(env, Names(table)));
  return out;
}

}  // namespace burstcap
