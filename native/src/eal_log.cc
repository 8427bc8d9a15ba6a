#include "eal_log.h"

#include <rte_log.h>
#include <stdio.h>
#include <unistd.h>

#include <deque>
#include <mutex>

namespace burstcap {

namespace {
constexpr size_t kKeptLines = 200;

std::mutex g_mutex;
std::deque<std::string> g_lines;
std::string g_partial;
bool g_echo = false;
FILE* g_stream = nullptr;

// EAL logs from its control threads too, so every write takes the lock.
ssize_t WriteLog(void*, const char* buf, size_t size) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_echo) {
    ssize_t ignored = write(STDERR_FILENO, buf, size);
    (void)ignored;
  }
  for (size_t i = 0; i < size; i++) {
    if (buf[i] == '\n') {
      g_lines.push_back(std::move(g_partial));
      g_partial.clear();
      if (g_lines.size() > kKeptLines) g_lines.pop_front();
    } else {
      g_partial.push_back(buf[i]);
    }
  }
  return static_cast<ssize_t>(size);
}
}  // namespace

void InstallEalLog(bool echo) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_echo = echo;
  if (g_stream != nullptr) return;
  cookie_io_functions_t io = {nullptr, WriteLog, nullptr, nullptr};
  g_stream = fopencookie(nullptr, "w", io);
  if (g_stream == nullptr) return;
  setvbuf(g_stream, nullptr, _IOLBF, 0);
  rte_openlog_stream(g_stream);
}

void SetEalLogEcho(bool echo) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_echo = echo;
}

std::string EalLogTail(size_t max_lines) {
  if (g_stream != nullptr) fflush(g_stream);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::string out;
  size_t skip = g_lines.size() > max_lines ? g_lines.size() - max_lines : 0;
  for (size_t i = skip; i < g_lines.size(); i++) {
    out += g_lines[i];
    out += '\n';
  }
  if (!g_partial.empty()) out += g_partial;
  return out;
}

void ClearEalLog() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_lines.clear();
  g_partial.clear();
}

}  // namespace burstcap
