#include "common/model/checkpoint_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "common/base/atomic_file.h"
#include "common/base/checksum.h"
#include "common/base/error.h"

namespace rlrec::common {
namespace {

constexpr char kMagic[8] = {'R', 'L', 'R', 'E', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 32;

struct Header {
  char magic[8];
  uint32_t schema_version;
  uint32_t reserved;
  uint64_t payload_bytes;
  uint64_t checksum;
};
static_assert(sizeof(Header) == kHeaderBytes);

// Reads every tensor of `module` (recursively) from `archive` into `out`, by full name, and
// checks its shape against the module's.
void ReadChecked(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                 const std::string& prefix,
                 std::vector<std::pair<torch::Tensor, torch::Tensor>>* out) {
  auto read = [&](const std::string& name, const torch::Tensor& target) {
    torch::Tensor stored;
    try {
      archive.read(name, stored);
    } catch (const c10::Error&) {
      throw InvalidInput("no tensor '" + prefix + name + "' in the checkpoint");
    }
    if (stored.sizes() != target.sizes()) {
      std::ostringstream why;
      why << "'" << prefix << name << "' is " << stored.sizes() << " in the checkpoint and "
          << target.sizes() << " in the model";
      throw InvalidInput(why.str());
    }
    out->emplace_back(target, stored);
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false)) read(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) read(b.key(), b.value());
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive child_archive;
    try {
      archive.read(child.key(), child_archive);
    } catch (const c10::Error&) {
      throw InvalidInput("no module '" + prefix + child.key() + "' in the checkpoint");
    }
    ReadChecked(*child.value(), child_archive, prefix + child.key() + ".", out);
  }
}

}  // namespace

void LoadModuleChecked(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs;
  ReadChecked(module, archive, "", &pairs);
  torch::NoGradGuard no_grad;
  for (auto& [target, stored] : pairs) target.copy_(stored);
}

void ReadCheckpointModel(const std::string& path, torch::nn::Module& module,
                         torch::serialize::InputArchive* archive) {
  ReadCheckpointFile(path, archive);
  torch::serialize::InputArchive model_archive;
  try {
    archive->read("model", model_archive);
  } catch (const c10::Error& e) {
    throw InvalidInput("checkpoint '" + path + "' holds no model: " + e.what_without_backtrace());
  }
  try {
    LoadModuleChecked(module, model_archive);
  } catch (const Error& e) {
    throw InvalidInput("checkpoint '" + path +
                       "' holds a model of another shape: it does not fit the model of this "
                       "config (" +
                       e.what() + "; was it written with this config?)");
  }
}

uint64_t ReadCheckpointCounter(torch::serialize::InputArchive& archive, const char* key,
                               const std::string& path) {
  torch::Tensor value;
  try {
    archive.read(key, value);
  } catch (const c10::Error&) {
    throw InvalidInput("checkpoint '" + path + "' has no '" + key + "'");
  }
  return static_cast<uint64_t>(value.item<int64_t>());
}

void WriteCheckpointFile(const std::string& path, torch::serialize::OutputArchive& archive) {
  // Streamed: the archive's bytes go to the file as LibTorch produces them (tensors straight
  // from their storage), never into a second copy in memory; the header, which holds their
  // size and checksum, is written over its placeholder last.
  AtomicFileWriter file(path, /*durable=*/true);
  Header header{};
  file.Append(std::string_view(reinterpret_cast<const char*>(&header), sizeof(header)));
  Checksum64Stream checksum;
  uint64_t payload_bytes = 0;
  // A write that fails (a full disk) must not throw through LibTorch: its zip writer finishes
  // the archive from its destructor, calling this function again while the exception unwinds,
  // and a second failure there ends the process (std::terminate). So the first failure is
  // kept, the rest of the archive is taken and dropped, and the failure is thrown after.
  std::exception_ptr write_failure;
  try {
    archive.save_to([&](const void* data, size_t size) {
      if (write_failure) return size;
      try {
        checksum.Update(data, size);
        payload_bytes += size;
        file.Append(std::string_view(static_cast<const char*>(data), size));
      } catch (...) {
        write_failure = std::current_exception();
      }
      return size;
    });
  } catch (const c10::Error& e) {
    throw Unavailable("cannot serialise checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  if (write_failure) std::rethrow_exception(write_failure);
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.schema_version = kCheckpointSchemaVersion;
  header.payload_bytes = payload_bytes;
  header.checksum = checksum.Final();
  file.WriteAt(0, std::string_view(reinterpret_cast<const char*>(&header), sizeof(header)));
  file.Commit();
}

void ReadCheckpointFile(const std::string& path, torch::serialize::InputArchive* archive) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InvalidInput("checkpoint '" + path + "': cannot open: " + std::strerror(errno));
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw InvalidInput("checkpoint '" + path + "': cannot read: " + std::strerror(errno));
  }
  Header header{};
  if (bytes.size() < sizeof(header) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw InvalidInput("checkpoint '" + path + "': not an rlrec checkpoint (no RLRECKPT header)");
  }
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (header.schema_version != kCheckpointSchemaVersion) {
    throw InvalidInput("checkpoint '" + path + "': schema version " +
                       std::to_string(header.schema_version) + ", this rlrec reads version " +
                       std::to_string(kCheckpointSchemaVersion));
  }
  const uint64_t have = bytes.size() - sizeof(header);
  if (have != header.payload_bytes) {
    throw InvalidInput("checkpoint '" + path + "': truncated: " + std::to_string(have) +
                       " payload bytes of " + std::to_string(header.payload_bytes));
  }
  const char* payload = bytes.data() + sizeof(header);
  if (Checksum64(payload, have) != header.checksum) {
    throw InvalidInput("checkpoint '" + path + "': corrupted: the checksum does not match");
  }
  try {
    archive->load_from(payload, have);
  } catch (const c10::Error& e) {
    throw InvalidInput("checkpoint '" + path +
                       "': unreadable archive: " + e.what_without_backtrace());
  }
}

}  // namespace rlrec::common
