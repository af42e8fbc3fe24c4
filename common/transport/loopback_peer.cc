#include "common/transport/loopback_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rlrec::common {
namespace {

// An address as /proc/net/tcp{,6} writes it: the address's 32-bit words each in host order, in
// hex, then ':' and the port in hex ("0100007F:1F90" is 127.0.0.1:8080 on x86).
std::string ProcNetAddress(const sockaddr_storage& address) {
  char out[64];
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    std::snprintf(out, sizeof(out), "%08X:%04X", in.sin_addr.s_addr, ntohs(in.sin_port));
    return out;
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
  uint32_t words[4];
  std::memcpy(words, &in6.sin6_addr, sizeof(words));
  std::snprintf(out, sizeof(out), "%08X%08X%08X%08X:%04X", words[0], words[1], words[2], words[3],
                ntohs(in6.sin6_port));
  return out;
}

// Whether `address` is 127.0.0.0/8, ::1 or an IPv4-mapped 127.0.0.0/8; `text` gets it printed.
bool IsLoopback(const sockaddr_storage& address, std::string* text) {
  char host[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in.sin_addr, host, sizeof(host));
    *text = std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
  }
  if (address.ss_family != AF_INET6) return false;
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
  inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
  *text = "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
  if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return true;
  return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && in6.sin6_addr.s6_addr[12] == 127;
}

// The uid column of the line of `table` whose local address is `local` and remote address is
// `remote`, or nullopt.
std::optional<uid_t> OwnerIn(const char* table, const std::string& local,
                             const std::string& remote) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, line_local, line_remote, state, queues, timer, retransmits;
    uid_t uid = 0;
    if (!(fields >> slot >> line_local >> line_remote >> state >> queues >> timer >> retransmits >>
          uid)) {
      continue;
    }
    if (line_local == local && line_remote == remote) return uid;
  }
  return std::nullopt;
}

}  // namespace

LoopbackPeer FindLoopbackPeer(int fd) {
  LoopbackPeer peer;
  sockaddr_storage mine{}, theirs{};
  socklen_t mine_size = sizeof(mine), theirs_size = sizeof(theirs);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &mine_size) != 0 ||
      getpeername(fd, reinterpret_cast<sockaddr*>(&theirs), &theirs_size) != 0 ||
      mine.ss_family != theirs.ss_family) {
    return peer;
  }
  peer.loopback = IsLoopback(theirs, &peer.address);
  if (!peer.loopback) return peer;
  // The peer's socket: its local address is our remote one, and the other way round.
  peer.owner = OwnerIn(theirs.ss_family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6",
                       ProcNetAddress(theirs), ProcNetAddress(mine));
  return peer;
}

bool SameUserOrRoot(uid_t owner) { return owner == 0 || owner == geteuid(); }

}  // namespace rlrec::common
