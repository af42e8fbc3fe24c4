#include "common/config/config.h"

#include <boost/program_options.hpp>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <type_traits>
#include <vector>

#include "common/base/error.h"

namespace po = boost::program_options;

namespace rlrec::common {
namespace {

// A bad value, with the key it belongs to so the caller can say where it came from.
class BadValue : public Error {
 public:
  BadValue(std::string key, const std::string& message)
      : Error(ErrorKind::kInvalidInput, message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// `x` as the shortest text that reads back as the same double ("0.001", "1e+10").
std::string ShortestText(double x) {
  for (int precision = 6; precision <= 17; ++precision) {
    std::ostringstream s;
    s.precision(precision);
    s << x;
    if (std::stod(s.str()) == x) return s.str();
  }
  return std::to_string(x);
}

// What `range` allows, as the end of "value V of 'K' is out of range: ...".
std::string Describe(const Range& range) {
  switch (range.kind) {
    case Range::Kind::kAny:
      return "any value";
    case Range::Kind::kNotEmpty:
      return "must not be empty";
    case Range::Kind::kFileName:
      return "must be a plain name: letters, digits, '.', '_', '-', '+', '@', '=', not "
             "starting with '.' or '-'";
    case Range::Kind::kNumeric:
      break;
  }
  if (!range.has_high) {
    return std::string("must be ") + (range.low_open ? "> " : ">= ") + ShortestText(range.low);
  }
  return std::string("must be in ") + (range.low_open ? "(" : "[") + ShortestText(range.low) +
         ", " + ShortestText(range.high) + (range.high_open ? ")" : "]");
}

// Letters, digits and ._-+@= only, not starting with '.' or '-': never a path, never "..",
// never an option.
bool IsPlainName(const std::string& text) {
  if (text.size() > 255 || text[0] == '.' || text[0] == '-') return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._-+@=", c)) return false;
  }
  return true;
}

bool Contains(const Range& range, double x) {
  if (range.has_low && (range.low_open ? !(x > range.low) : !(x >= range.low))) return false;
  if (range.has_high && (range.high_open ? !(x < range.high) : !(x <= range.high))) return false;
  return true;
}

bool Contains(const Range& range, const std::string& text) {
  if (range.kind == Range::Kind::kNotEmpty) return !text.empty();
  if (range.kind == Range::Kind::kFileName) return text.empty() || IsPlainName(text);
  return true;
}

// One key of the table, bound to its field of a RunConfig that outlives it.
struct BoundKey {
  std::string name;  // "section.key"
  // Declares the key (with its default: the field's value) in `options`.
  std::function<void(po::options_description& options)> declare;
  // Moves what the options parsed into the field (choices: from their name; throws BadValue).
  std::function<void()> finish;
  // Throws BadValue when the field's value is outside the key's range.
  std::function<void()> check;
  // The field's value as config.ini writes it.
  std::function<std::string()> text;
};

template <typename T>
BoundKey Bind(std::string name, T* field, Range range, std::string help) {
  BoundKey key;
  key.name = name;
  if constexpr (std::is_enum_v<T>) {
    // Choices are read as their names and turned into the enum by finish(), which lists the
    // names when one is wrong.
    auto parsed = std::make_shared<std::string>(ChoiceName(*field));
    help += "; one of: " + ChoiceList<T>();
    key.declare = [=](po::options_description& options) {
      options.add_options()(
          name.c_str(), po::value<std::string>(parsed.get())->default_value(*parsed), help.c_str());
    };
    key.finish = [=] {
      std::optional<T> value = ParseChoice<T>(*parsed);
      if (!value) {
        throw BadValue(name, "value '" + *parsed + "' of '" + name +
                                 "' is not one of the choices: " + ChoiceList<T>());
      }
      *field = *value;
    };
    key.text = [=] { return std::string(ChoiceName(*field)); };
  } else {
    if (range.kind != Range::Kind::kAny) help += "; " + Describe(range);
    key.declare = [=](po::options_description& options) {
      options.add_options()(name.c_str(), po::value<T>(field)->default_value(*field), help.c_str());
    };
    key.finish = [] {};
    key.text = [=]() -> std::string {
      if constexpr (std::is_same_v<T, std::string>) {
        return *field;
      } else if constexpr (std::is_same_v<T, bool>) {
        return *field ? "true" : "false";
      } else if constexpr (std::is_floating_point_v<T>) {
        return ShortestText(*field);
      } else {
        return std::to_string(*field);
      }
    };
  }
  key.check = [name, field, range, text = key.text] {
    bool ok = true;
    if constexpr (std::is_same_v<T, std::string>) {
      ok = Contains(range, *field);
    } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
      ok = range.kind != Range::Kind::kNumeric || Contains(range, static_cast<double>(*field));
    }
    if (!ok) {
      std::string value = text();
      throw BadValue(name, "value " + (value.empty() ? "''" : value) + " of '" + name +
                               "' is out of range: " + Describe(range));
    }
  };
  return key;
}

// Every key of the table, bound to the fields of `config`, in the table's order.
std::vector<BoundKey> BindKeys(RunConfig* config) {
  std::vector<BoundKey> keys;
#define RLREC_BIND_KEY(section, key, type, default_value, range, help) \
  keys.push_back(Bind(#section "." #key, &config->section.key, range, help));
#define RLREC_BIND_SECTION(section, Type, KEYS) KEYS(RLREC_BIND_KEY)
  RLREC_CONFIG_SECTIONS(RLREC_BIND_SECTION)
#undef RLREC_BIND_SECTION
#undef RLREC_BIND_KEY
  return keys;
}

void CheckKeys(const std::vector<BoundKey>& keys, const RunConfig& config) {
  for (const auto& key : keys) key.check();
  for (const auto& rule : kCrossKeyRules) {
    if (!rule.holds(config)) {
      RunConfig copy = config;
      std::string value;
      for (const auto& key : BindKeys(&copy)) {
        if (key.name == rule.key) value = key.text();
      }
      throw BadValue(rule.key, "value " + (value.empty() ? "''" : value) + " of '" + rule.key +
                                   "' is out of range: " + rule.rule);
    }
  }
}

// A config file is a few kilobytes; anything much larger is a mistake.
constexpr uintmax_t kMaxConfigFileBytes = 1 << 20;

// Returns " (line N)" for the line of `path` that sets `key`, or "" if none does.
std::string LineOf(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line, section;
  for (int n = 1; std::getline(in, line); ++n) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#' || line[start] == ';') continue;
    if (line[start] == '[') {
      auto end = line.find(']', start);
      section = line.substr(start + 1, end == std::string::npos ? end : end - start - 1);
      continue;
    }
    auto eq = line.find('=');
    std::string name = line.substr(start, eq == std::string::npos ? eq : eq - start);
    name.erase(name.find_last_not_of(" \t") + 1);
    if ((section.empty() ? name : section + "." + name) == key) {
      return " (line " + std::to_string(n) + ")";
    }
  }
  return "";
}

// Reads `path` into `vm` with the options of `keys`; errors name the key, file and line.
void StoreConfigFile(const std::string& path, const po::options_description& keys,
                     po::variables_map* vm) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw InvalidInput("config file '" + path + "' is not a regular file (a folder or a device?)");
  }
  if (std::filesystem::is_regular_file(path, ec) &&
      std::filesystem::file_size(path, ec) > kMaxConfigFileBytes) {
    throw InvalidInput("config file '" + path + "' is larger than " +
                       std::to_string(kMaxConfigFileBytes) + " bytes: not a config file?");
  }
  std::ifstream file(path);
  if (!file) {
    throw InvalidInput("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  try {
    po::store(po::parse_config_file(file, keys, /*allow_unregistered=*/false), *vm);
  } catch (const po::unknown_option& e) {
    std::string key = e.get_option_name();
    throw InvalidInput("unknown key '" + key + "' in config file '" + path + "'" +
                       LineOf(path, key));
  } catch (const po::invalid_option_value& e) {
    std::string key = e.get_option_name();
    if (!key.empty() && key[0] == '-') key = key.substr(key.find_first_not_of('-'));
    throw InvalidInput("malformed value for key '" + key + "' in config file '" + path + "'" +
                       LineOf(path, key) + ": " + e.what());
  } catch (const po::error& e) {
    throw InvalidInput("config file '" + path + "': " + e.what());
  }
}

}  // namespace

void ValidateConfig(const RunConfig& config) {
  RunConfig copy = config;
  try {
    CheckKeys(BindKeys(&copy), copy);
  } catch (const BadValue& e) {
    throw InvalidInput(e.what());
  }
}

std::string ConfigIni(const RunConfig& config) {
  RunConfig copy = config;
  std::ostringstream out;
  out << "# Effective configuration: every key with the value this run used.\n";
  std::string section;
  for (const auto& key : BindKeys(&copy)) {
    const auto dot = key.name.find('.');
    if (key.name.substr(0, dot) != section) {
      section = key.name.substr(0, dot);
      out << "\n[" << section << "]\n";
    }
    out << key.name.substr(dot + 1) << " = " << key.text() << "\n";
  }
  return out.str();
}

struct ProgramOptions::Described {
  po::options_description options;
};

ProgramOptions::ProgramOptions(const std::string& title)
    : described_(std::make_unique<Described>(Described{po::options_description(title)})) {}

ProgramOptions::~ProgramOptions() = default;

template <typename T>
ProgramOptions& ProgramOptions::Add(const char* name, T* value, const char* help,
                                    bool show_default) {
  auto* semantic = po::value<T>(value);
  if (show_default) semantic->default_value(*value);
  described_->options.add_options()(name, semantic, help);
  return *this;
}
template ProgramOptions& ProgramOptions::Add(const char*, std::string*, const char*, bool);
template ProgramOptions& ProgramOptions::Add(const char*, int*, const char*, bool);
template ProgramOptions& ProgramOptions::Add(const char*, uint32_t*, const char*, bool);
template ProgramOptions& ProgramOptions::Add(const char*, uint64_t*, const char*, bool);
template ProgramOptions& ProgramOptions::Add(const char*, double*, const char*, bool);

ProgramOptions& ProgramOptions::Flag(const char* name, bool* value, const char* help) {
  described_->options.add_options()(name, po::bool_switch(value), help);
  return *this;
}

std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage) {
  ProgramOptions none;
  return ParseArgs(argc, argv, program, usage, none);
}

std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage, ProgramOptions& own) {
  const po::options_description& extra = own.described_->options;
  ParsedArgs out;
  po::variables_map vm;
  po::options_description general("General options");
  general.add_options()("help,h", "print this help and exit")(
      "print-config", "print the effective configuration (INI) and exit")(
      "config", po::value<std::string>(&out.config_path), "INI file with configuration keys");
  const std::vector<BoundKey> bound = BindKeys(&out.config);
  po::options_description keys("Configuration keys (in the file as [section] key = value)",
                               /*line_length=*/100, /*min_description_length=*/50);
  for (const auto& key : bound) key.declare(keys);
  // Retired keys are read (so older files still load) but not listed.
  po::options_description retired;
  for (const char* key : kRetiredKeys) retired.add_options()(key, po::value<std::string>(), "");
  po::options_description file_keys, all;
  file_keys.add(keys).add(retired);
  all.add(general).add(extra).add(file_keys);

  po::parsed_options command_line(&all);
  try {
    command_line = po::command_line_parser(argc, argv).options(all).run();
    po::store(command_line, vm);
  } catch (const po::unknown_option& e) {
    throw InvalidInput("unknown option '" + e.get_option_name() + "' on the command line");
  } catch (const po::error& e) {
    throw InvalidInput(std::string("command line: ") + e.what());
  }
  if (vm.count("help")) {
    std::cout << "usage: " << program << " " << usage << "\n\n" << general << "\n";
    if (!extra.options().empty()) std::cout << extra << "\n";
    std::cout << keys;
    return std::nullopt;
  }
  if (vm.count("config")) {
    StoreConfigFile(vm["config"].as<std::string>(), file_keys, &vm);
  }
  po::notify(vm);
  for (const auto& option : extra.options()) {
    const std::string& name = option->long_name();
    if (vm.count(name) && !vm[name].defaulted()) own.given_.insert(name);
  }
  for (const char* key : kRetiredKeys) {
    if (vm.count(key)) {
      std::cerr << program << ": warning: key '" << key << "' is no longer used; ignored\n";
    }
  }
  try {
    for (const auto& key : bound) key.finish();
    CheckKeys(bound, out.config);
  } catch (const BadValue& e) {
    bool from_command_line = false;
    for (const auto& o : command_line.options) from_command_line |= o.string_key == e.key();
    std::string where =
        from_command_line || out.config_path.empty()
            ? " (command line or default)"
            : " (config file '" + out.config_path + "'" + LineOf(out.config_path, e.key()) + ")";
    throw InvalidInput(e.what() + where);
  }
  if (vm.count("print-config")) {
    std::cout << ConfigIni(out.config);
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> OverridesAsFlags(int argc, const char* const* argv) {
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a.rfind('-', 0) != 0 && a.find('=') != std::string::npos) a = "--" + a;
    words.push_back(a);
  }
  return words;
}

}  // namespace rlrec::common
