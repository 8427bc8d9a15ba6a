// DPDK logs go to a stream burstcap owns: the last lines are kept as the
// evidence attached to errors, and echoed to stderr only when asked (-v).
#pragma once
#include <string>

namespace burstcap {

// Installs the stream with rte_openlog_stream; safe to call more than once.
void InstallEalLog(bool echo);
void SetEalLogEcho(bool echo);
// The most recent lines, oldest first, newline separated.
std::string EalLogTail(size_t max_lines);
void ClearEalLog();

}  // namespace burstcap
