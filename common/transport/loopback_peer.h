#ifndef RLREC_COMMON_TRANSPORT_LOOPBACK_PEER_H_
#define RLREC_COMMON_TRANSPORT_LOOPBACK_PEER_H_

#include <sys/types.h>

#include <optional>
#include <string>

namespace rlrec::common {

// Who is at the other end of an accepted TCP connection.
struct LoopbackPeer {
  bool loopback = false;       // the peer's address is a loopback one (127.0.0.0/8, ::1)
  std::optional<uid_t> owner;  // the user of the peer's socket, when loopback and listed
  std::string address;         // "127.0.0.1:40312", for messages
};

// Looks up the peer of the connected TCP socket `fd`. A loopback peer is a process of this
// host: its own socket appears in /proc/net/tcp (or tcp6) with the two addresses swapped, and
// that line names its user. `owner` stays empty when the peer is not on a loopback address,
// when `fd` is not a connected TCP socket, or when no such line is found (the peer has gone,
// or lives in another network namespace). Never throws. Linux only.
LoopbackPeer FindLoopbackPeer(int fd);

// Whether a loopback peer of user `owner` may use this process's sockets: the same effective
// user as this process, or root.
bool SameUserOrRoot(uid_t owner);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_TRANSPORT_LOOPBACK_PEER_H_
