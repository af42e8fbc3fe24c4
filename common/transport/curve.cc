#include "common/transport/curve.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/base/atomic_file.h"
#include "common/base/error.h"
#include "common/run/run_folder.h"
#include "common/transport/zap_handler.h"

namespace rlrec::common {
namespace {

constexpr size_t kZ85KeyChars = 40;
constexpr char kZapDomain[] = "rlrec";

// "name = value" lines, in a fixed order.
std::string Format(const CurveKeys& keys, bool for_clients) {
  std::string out = "# rlrec CURVE keys: keep secret (mode 0600)\n";
  out += "server_public = " + keys.server_public + "\n";
  if (!for_clients) out += "server_secret = " + keys.server_secret + "\n";
  out += "client_public = " + keys.client_public + "\n";
  out += "client_secret = " + keys.client_secret + "\n";
  return out;
}

CurveKeys Parse(std::istream& in, const std::string& source) {
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) {
      throw InvalidInput("CURVE keys in " + source + ": malformed line (expected 'name = key')");
    }
    values[line.substr(0, eq)] = line.substr(eq + 3);
  }
  CurveKeys keys;
  const auto take = [&](const char* name, std::string* out, bool required) {
    auto it = values.find(name);
    if (it == values.end()) {
      if (required) throw InvalidInput("CURVE keys in " + source + ": no " + name);
      return;
    }
    if (it->second.size() != kZ85KeyChars) {
      throw InvalidInput("CURVE keys in " + source + ": " + name + " is not a 40-character key");
    }
    *out = it->second;
  };
  take("server_public", &keys.server_public, true);
  take("server_secret", &keys.server_secret, false);
  take("client_public", &keys.client_public, true);
  take("client_secret", &keys.client_secret, true);
  return keys;
}

void SetKey(ZmqSocket& socket, int option, const std::string& z85) {
  // ZeroMQ takes a 40-character Z85 key as a 41-byte string.
  RLREC_ZMQ_CALL(zmq_setsockopt(socket.raw(), option, z85.c_str(), z85.size() + 1));
}

}  // namespace

CurveKeys GenerateCurveKeys() {
  if (!zmq_has("curve")) {
    throw Error(ErrorKind::kUnimplemented,
                "this libzmq has no CURVE security (built without libsodium); set "
                "transport.security = none on trusted networks only");
  }
  char server_public[41], server_secret[41], client_public[41], client_secret[41];
  if (zmq_curve_keypair(server_public, server_secret) != 0 ||
      zmq_curve_keypair(client_public, client_secret) != 0) {
    throw Internal(std::string("zmq_curve_keypair(): ") + zmq_strerror(zmq_errno()));
  }
  return {server_public, server_secret, client_public, client_secret};
}

void WriteCurveKeys(const std::string& path, const CurveKeys& keys, bool for_clients) {
  // The temporary file is created with the umask's mode; the key must never be readable by
  // others, so tighten the umask while writing.
  const mode_t old = ::umask(077);
  try {
    WriteFileAtomically(path, {Format(keys, for_clients)}, /*durable=*/true);
  } catch (...) {
    ::umask(old);
    throw;
  }
  ::umask(old);
  if (::chmod(path.c_str(), 0600) != 0) {
    throw Unavailable("cannot make '" + path + "' private: " + std::strerror(errno));
  }
}

CurveKeys ReadCurveKeys(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw InvalidInput("CURVE key file '" + path + "': " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    throw InvalidInput("CURVE key file '" + path +
                       "' is readable by others than its owner: chmod 600 it");
  }
  std::ifstream in(path);
  if (!in) throw InvalidInput("CURVE key file '" + path + "': " + std::strerror(errno));
  return Parse(in, "'" + path + "'");
}

std::string CurveKeysText(const CurveKeys& keys) { return Format(keys, false); }

CurveKeys ParseCurveKeysText(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  return Parse(in, source);
}

bool UsesCurve(Security security, const std::string& host) {
  switch (security) {
    case Security::kCurve:
      return true;
    case Security::kNone:
      return false;
    case Security::kAuto:
      break;
  }
  return !(host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0);
}

std::string EndpointHost(const std::string& endpoint) {
  const auto start = endpoint.find("://");
  if (start == std::string::npos) return "";
  const std::string rest = endpoint.substr(start + 3);
  const auto colon = rest.rfind(':');
  return colon == std::string::npos ? rest : rest.substr(0, colon);
}

SocketSecurity ClientSecurity(const RunConfig::Transport& transport) {
  if (!UsesCurve(transport.security, EndpointHost(transport.control))) return {};
  if (transport.key_file.empty()) {
    throw InvalidInput("the learner at " + transport.control +
                       " is reached with CURVE (transport.security = " +
                       ChoiceName(transport.security) + "): give transport.key_file, the run's " +
                       RunFilePath(RunFile::kCurveClientKeys) + " from its run folder");
  }
  return {true, ReadCurveKeys(transport.key_file)};
}

void SecureServer(ZmqSocket& socket, const SocketSecurity& security) {
  if (!security.curve) {
    if (!security.guard) return;
    // NULL handshakes go to the ZAP handler too once a domain is set.
    socket.SetBytes(ZMQ_ZAP_DOMAIN, kZapDomain);
    security.guard->WatchAccepts(socket);
    return;
  }
  socket.SetInt(ZMQ_CURVE_SERVER, 1);
  SetKey(socket, ZMQ_CURVE_SECRETKEY, security.keys.server_secret);
  socket.SetBytes(ZMQ_ZAP_DOMAIN, kZapDomain);
}

void SecureClient(ZmqSocket& socket, const SocketSecurity& security) {
  if (!security.curve) return;
  SetKey(socket, ZMQ_CURVE_SERVERKEY, security.keys.server_public);
  SetKey(socket, ZMQ_CURVE_PUBLICKEY, security.keys.client_public);
  SetKey(socket, ZMQ_CURVE_SECRETKEY, security.keys.client_secret);
}

}  // namespace rlrec::common
