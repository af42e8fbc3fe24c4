#include "common/config.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include "common/error.h"

namespace po = boost::program_options;

namespace rlrec::common {
namespace {

// An out-of-range value, with the key it belongs to so the caller can say where it came from.
class BadValue : public Error {
 public:
  BadValue(std::string key, const std::string& message)
      : Error(ErrorKind::kInvalidInput, message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

template <typename T>
void Add(po::options_description& d, const char* key, T* field, const char* help) {
  d.add_options()(key, po::value<T>(field)->default_value(*field), help);
}

// Declares every RunConfig key, bound to the fields of `c`, with its default and meaning.
po::options_description ConfigOptions(RunConfig* c) {
  po::options_description d("Configuration keys (in the file as [section] key = value)");
  Add(d, "run.name", &c->run.name, "run folder name under run.runs_root (empty: dated name)");
  Add(d, "run.runs_root", &c->run.runs_root, "folder that holds run folders");
  Add(d, "run.seed", &c->run.seed, "seed of every random stream of the run");
  Add(d, "run.budget_seconds", &c->run.budget_seconds,
      "wall-clock training budget in seconds (0: none)");
  Add(d, "run.max_updates", &c->run.max_updates, "stop after this many updates (0: no limit)");
  Add(d, "run.max_env_steps", &c->run.max_env_steps,
      "stop after this many environment steps (0: no limit)");
  Add(d, "run.report_every_s", &c->run.report_every_s,
      "seconds between progress lines and metrics.jsonl rows");
  Add(d, "run.checkpoint_every", &c->run.checkpoint_every,
      "write a checkpoint every this many updates (0: only by time and at the end)");
  Add(d, "run.checkpoint_minutes", &c->run.checkpoint_minutes,
      "write a checkpoint every this many minutes (0: only by updates and at the end)");
  Add(d, "run.keep_checkpoints", &c->run.keep_checkpoints, "newest checkpoints to keep (>= 1)");
  Add(d, "run.report_every_updates", &c->run.report_every_updates,
      "write progress rows every this many updates instead (0: every report_every_s; "
      "synchronous runs then use 10, so their rows are reproducible)");
  Add(d, "sim.model", &c->sim.model, "user simulator: interest_evolution");
  Add(d, "sim.users_per_actor", &c->sim.users_per_actor, "users each actor steps as one batch");
  Add(d, "sim.candidates", &c->sim.candidates, "candidate items offered per step (C)");
  Add(d, "sim.slate_size", &c->sim.slate_size, "items recommended per step (K <= C)");
  Add(d, "sim.topics", &c->sim.topics, "number of item topics");
  Add(d, "sim.time_budget", &c->sim.time_budget, "session time budget of each user");
  Add(d, "sim.observe_interests", &c->sim.observe_interests,
      "the agent sees true interests instead of the user's history (true/false)");
  Add(d, "sim.choice", &c->sim.choice, "user choice model: proportional or mnl");
  Add(d, "sim.choice_temperature", &c->sim.choice_temperature,
      "temperature of the multinomial-logit choice");
  Add(d, "sim.position_bias", &c->sim.position_bias,
      "attractiveness factor per slate position (bias^position; 1: no position effect)");
  Add(d, "sim.corpus_size", &c->sim.corpus_size,
      "items of a fixed corpus with stable ids (0: fresh documents every step)");
  Add(d, "sim.popularity_skew", &c->sim.popularity_skew,
      "Zipf exponent of candidate draws from the corpus (0: uniform)");
  Add(d, "sim.item_lifetime", &c->sim.item_lifetime,
      "steps before a corpus item is replaced by a new one (0: never)");
  Add(d, "sim.cold_start_rate", &c->sim.cold_start_rate,
      "share of users who arrive without history (1: all, as in RecSim)");
  Add(d, "sim.history_length", &c->sim.history_length,
      "past impressions (item, topic, response) of the user the agent sees");
  Add(d, "sim.interest_drift", &c->sim.interest_drift,
      "per-step standard deviation of a random walk of interests (0: none)");
  Add(d, "model.hidden", &c->model.hidden, "width of the user encoder and item embeddings");
  Add(d, "model.temperature", &c->model.temperature, "softmax temperature of slate sampling");
  Add(d, "model.epsilon", &c->model.epsilon,
      "share of slates the actors draw uniformly at random, for exploration");
  Add(d, "model.user_encoder", &c->model.user_encoder,
      "encoder of the user's history: pooled (mean of impression embeddings) or gru");
  Add(d, "model.item_buckets", &c->model.item_buckets,
      "rows of the item-id embedding, ids taken modulo it (0: sim.corpus_size; no item-id "
      "embedding when both are 0)");
  Add(d, "learner.device", &c->learner.device, "device of the learner: cpu or cuda");
  Add(d, "learner.batch_trajectories", &c->learner.batch_trajectories, "trajectories per update");
  Add(d, "learner.learning_rate", &c->learner.learning_rate, "Adam learning rate");
  Add(d, "learner.discount", &c->learner.discount, "discount factor gamma in [0, 1]");
  Add(d, "learner.value_coef", &c->learner.value_coef, "weight of the value loss");
  Add(d, "learner.entropy_coef", &c->learner.entropy_coef, "weight of the entropy bonus");
  Add(d, "learner.max_grad_norm", &c->learner.max_grad_norm, "gradient norm clip (0: no clipping)");
  Add(d, "learner.publish_every", &c->learner.publish_every,
      "publish a weight snapshot every this many updates");
  Add(d, "learner.objective", &c->learner.objective,
      "loss: vtrace (IMPALA, corrects for policy lag), topk_reinforce (REINFORCE with the "
      "top-K off-policy correction) or pg (on-policy policy gradient)");
  Add(d, "learner.rho_bar", &c->learner.rho_bar, "V-trace clip of the importance weights");
  Add(d, "learner.c_bar", &c->learner.c_bar, "V-trace clip of the trace weights");
  Add(d, "learner.importance_cap", &c->learner.importance_cap,
      "topk_reinforce: cap of the slate importance weight pi / mu");
  Add(d, "learner.max_policy_lag", &c->learner.max_policy_lag,
      "drop trajectories more than this many snapshots old (0: keep all)");
  Add(d, "learner.threads", &c->learner.threads, "LibTorch threads of the learner");
  Add(d, "learner.bucket_mib", &c->learner.bucket_mib,
      "size of the gradient buckets all-reduced across learner ranks, in MiB");
  Add(d, "learner.collective_timeout_s", &c->learner.collective_timeout_s,
      "longest wait, in seconds, for the other learner ranks at an update (a rank whose actors "
      "send nothing holds the others up); then the job stops with an error");
  Add(d, "learner.synchronous", &c->learner.synchronous,
      "lockstep mode: each actor waits for every new snapshot, each update takes one unroll "
      "from every actor (actor.count of them) in actor-id order; with a fixed seed and "
      "run.max_updates, two runs give the same metrics and weights bit for bit");
  Add(d, "actor.count", &c->actor.count, "actors the local launcher starts (0: one per core)");
  Add(d, "actor.unroll", &c->actor.unroll, "steps per trajectory");
  Add(d, "actor.threads", &c->actor.threads, "LibTorch threads of each actor");
  Add(d, "transport.host", &c->transport.host, "address the learner binds and advertises");
  Add(d, "transport.control_port", &c->transport.control_port,
      "learner control port (0: pick a free one)");
  Add(d, "transport.trajectory_port", &c->transport.trajectory_port,
      "learner trajectory port (0: pick a free one)");
  Add(d, "transport.weights_port", &c->transport.weights_port,
      "learner weights port (0: pick a free one)");
  Add(d, "transport.control", &c->transport.control,
      "actors: the lead learner's control endpoint, e.g. tcp://10.0.0.1:5555");
  Add(d, "transport.request_timeout_s", &c->transport.request_timeout_s,
      "deadline of each control request in seconds");
  Add(d, "transport.request_retries", &c->transport.request_retries,
      "retries of an unanswered control request");
  Add(d, "transport.connect_timeout_s", &c->transport.connect_timeout_s,
      "actors: seconds to keep trying to reach the learner before giving up");
  Add(d, "transport.weights_chunk_kib", &c->transport.weights_chunk_kib,
      "size of one weight snapshot chunk in KiB");
  Add(d, "transport.weights_republish_s", &c->transport.weights_republish_s,
      "seconds between re-publications of the latest snapshot, for actors that join late");
  Add(d, "transport.send_hwm", &c->transport.send_hwm,
      "trajectories an actor queues before it waits for the learner (back-pressure)");
  Add(d, "transport.receive_hwm", &c->transport.receive_hwm,
      "trajectories the learner queues before its senders wait");
  return d;
}

void Require(bool ok, const char* key, const std::string& value, const char* rule) {
  if (!ok) {
    throw BadValue(key,
                   std::string("value ") + value + " of '" + key + "' is out of range: " + rule);
  }
}

template <typename T>
std::string Str(const T& v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

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

std::string AnyToString(const boost::any& v) {
  if (auto p = boost::any_cast<std::string>(&v)) return *p;
  if (auto p = boost::any_cast<bool>(&v)) return *p ? "true" : "false";
  if (auto p = boost::any_cast<int>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<uint64_t>(&v)) return std::to_string(*p);
  if (auto p = boost::any_cast<double>(&v)) {
    // The shortest text that reads back as the same double.
    for (int precision = 6; precision <= 17; ++precision) {
      std::ostringstream s;
      s.precision(precision);
      s << *p;
      if (std::stod(s.str()) == *p) return s.str();
    }
  }
  return "?";
}

std::string EffectiveIni(const po::options_description& keys, const po::variables_map& vm) {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;
  std::vector<std::string> order;
  for (const auto& option : keys.options()) {
    const std::string& name = option->long_name();
    auto dot = name.find('.');
    std::string section = name.substr(0, dot);
    if (!sections.count(section)) order.push_back(section);
    sections[section].emplace_back(name.substr(dot + 1), AnyToString(vm[name].value()));
  }
  std::ostringstream out;
  out << "# Effective configuration: every key with the value this run used.\n";
  for (const auto& section : order) {
    out << "\n[" << section << "]\n";
    for (const auto& [k, v] : sections[section]) out << k << " = " << v << "\n";
  }
  return out.str();
}

}  // namespace

void ValidateConfig(const RunConfig& c) {
  Require(!c.run.runs_root.empty(), "run.runs_root", "''", "must not be empty");
  Require(c.run.name.find('/') == std::string::npos, "run.name", c.run.name,
          "must not contain '/'");
  Require(c.run.budget_seconds >= 0, "run.budget_seconds", Str(c.run.budget_seconds),
          "must be >= 0");
  Require(c.run.budget_seconds > 0 || c.run.max_updates > 0 || c.run.max_env_steps > 0,
          "run.budget_seconds", Str(c.run.budget_seconds),
          "a run needs a budget: set run.budget_seconds, run.max_updates or run.max_env_steps");
  Require(c.run.checkpoint_minutes >= 0, "run.checkpoint_minutes", Str(c.run.checkpoint_minutes),
          "must be >= 0");
  Require(c.run.keep_checkpoints >= 1 && c.run.keep_checkpoints <= 1000, "run.keep_checkpoints",
          Str(c.run.keep_checkpoints), "must be in [1, 1000]");
  Require(c.run.report_every_s > 0 && c.run.report_every_s <= 5, "run.report_every_s",
          Str(c.run.report_every_s), "must be in (0, 5]");
  Require(c.sim.model == "interest_evolution", "sim.model", c.sim.model,
          "must be one of: interest_evolution");
  Require(c.sim.users_per_actor >= 1 && c.sim.users_per_actor <= 65536, "sim.users_per_actor",
          Str(c.sim.users_per_actor), "must be in [1, 65536]");
  Require(c.sim.candidates >= 1 && c.sim.candidates <= 100000, "sim.candidates",
          Str(c.sim.candidates), "must be in [1, 100000]");
  Require(c.sim.slate_size >= 1 && c.sim.slate_size <= c.sim.candidates, "sim.slate_size",
          Str(c.sim.slate_size), "must be in [1, sim.candidates]");
  Require(c.sim.topics >= 1 && c.sim.topics <= 4096, "sim.topics", Str(c.sim.topics),
          "must be in [1, 4096]");
  Require(c.sim.time_budget > 0, "sim.time_budget", Str(c.sim.time_budget), "must be > 0");
  Require(c.sim.choice == "proportional" || c.sim.choice == "mnl", "sim.choice", c.sim.choice,
          "must be proportional or mnl");
  Require(c.sim.choice_temperature > 0, "sim.choice_temperature", Str(c.sim.choice_temperature),
          "must be > 0");
  Require(c.sim.position_bias > 0 && c.sim.position_bias <= 1, "sim.position_bias",
          Str(c.sim.position_bias), "must be in (0, 1]");
  Require(c.sim.corpus_size == 0 ||
              (c.sim.corpus_size >= c.sim.candidates && c.sim.corpus_size <= (1 << 30)),
          "sim.corpus_size", Str(c.sim.corpus_size),
          "must be 0 (fresh documents) or in [sim.candidates, 2^30]");
  Require(c.sim.popularity_skew >= 0 && c.sim.popularity_skew <= 10, "sim.popularity_skew",
          Str(c.sim.popularity_skew), "must be in [0, 10]");
  Require(c.sim.item_lifetime >= 0, "sim.item_lifetime", Str(c.sim.item_lifetime), "must be >= 0");
  Require(c.sim.item_lifetime == 0 || c.sim.corpus_size > 0, "sim.item_lifetime",
          Str(c.sim.item_lifetime), "needs a fixed corpus (sim.corpus_size > 0)");
  Require(c.sim.cold_start_rate >= 0 && c.sim.cold_start_rate <= 1, "sim.cold_start_rate",
          Str(c.sim.cold_start_rate), "must be in [0, 1]");
  Require(c.sim.history_length >= 0 && c.sim.history_length <= 1000, "sim.history_length",
          Str(c.sim.history_length), "must be in [0, 1000]");
  Require(c.sim.interest_drift >= 0 && c.sim.interest_drift <= 1, "sim.interest_drift",
          Str(c.sim.interest_drift), "must be in [0, 1]");
  Require(c.model.hidden >= 1 && c.model.hidden <= 65536, "model.hidden", Str(c.model.hidden),
          "must be in [1, 65536]");
  Require(c.model.temperature > 0, "model.temperature", Str(c.model.temperature), "must be > 0");
  Require(c.model.epsilon >= 0 && c.model.epsilon < 1, "model.epsilon", Str(c.model.epsilon),
          "must be in [0, 1)");
  Require(c.model.user_encoder == "pooled" || c.model.user_encoder == "gru", "model.user_encoder",
          c.model.user_encoder, "must be pooled or gru");
  Require(c.model.item_buckets >= 0 && c.model.item_buckets <= 100000000, "model.item_buckets",
          Str(c.model.item_buckets), "must be in [0, 100000000]");
  Require(c.learner.device == "cpu" || c.learner.device == "cuda", "learner.device",
          c.learner.device, "must be cpu or cuda");
  Require(c.learner.batch_trajectories >= 1 && c.learner.batch_trajectories <= 4096,
          "learner.batch_trajectories", Str(c.learner.batch_trajectories), "must be in [1, 4096]");
  Require(c.learner.learning_rate > 0 && c.learner.learning_rate < 1, "learner.learning_rate",
          Str(c.learner.learning_rate), "must be in (0, 1)");
  Require(c.learner.discount >= 0 && c.learner.discount <= 1, "learner.discount",
          Str(c.learner.discount), "must be in [0, 1]");
  Require(c.learner.value_coef >= 0, "learner.value_coef", Str(c.learner.value_coef),
          "must be >= 0");
  Require(c.learner.entropy_coef >= 0, "learner.entropy_coef", Str(c.learner.entropy_coef),
          "must be >= 0");
  Require(c.learner.max_grad_norm >= 0, "learner.max_grad_norm", Str(c.learner.max_grad_norm),
          "must be >= 0");
  Require(c.learner.publish_every >= 1, "learner.publish_every", Str(c.learner.publish_every),
          "must be >= 1");
  Require(c.learner.objective == "vtrace" || c.learner.objective == "pg" ||
              c.learner.objective == "topk_reinforce",
          "learner.objective", c.learner.objective, "must be vtrace, topk_reinforce or pg");
  Require(c.learner.importance_cap > 0, "learner.importance_cap", Str(c.learner.importance_cap),
          "must be > 0");
  Require(c.learner.rho_bar > 0, "learner.rho_bar", Str(c.learner.rho_bar), "must be > 0");
  Require(c.learner.c_bar > 0, "learner.c_bar", Str(c.learner.c_bar), "must be > 0");
  Require(c.learner.max_policy_lag >= 0, "learner.max_policy_lag", Str(c.learner.max_policy_lag),
          "must be >= 0");
  Require(c.learner.bucket_mib > 0 && c.learner.bucket_mib <= 4096, "learner.bucket_mib",
          Str(c.learner.bucket_mib), "must be in (0, 4096]");
  Require(c.learner.collective_timeout_s > 0, "learner.collective_timeout_s",
          Str(c.learner.collective_timeout_s), "must be > 0");
  Require(c.learner.threads >= 1 && c.learner.threads <= 256, "learner.threads",
          Str(c.learner.threads), "must be in [1, 256]");
  Require(c.actor.count >= 0 && c.actor.count <= 4096, "actor.count", Str(c.actor.count),
          "must be in [0, 4096]");
  Require(c.actor.unroll >= 1 && c.actor.unroll <= 65536, "actor.unroll", Str(c.actor.unroll),
          "must be in [1, 65536]");
  Require(c.actor.threads >= 1 && c.actor.threads <= 256, "actor.threads", Str(c.actor.threads),
          "must be in [1, 256]");
  for (auto [key, port] : {std::pair{"transport.control_port", c.transport.control_port},
                           std::pair{"transport.trajectory_port", c.transport.trajectory_port},
                           std::pair{"transport.weights_port", c.transport.weights_port}}) {
    Require(port >= 0 && port <= 65535, key, Str(port), "must be in [0, 65535]");
  }
  Require(!c.transport.host.empty(), "transport.host", "''", "must not be empty");
  Require(c.transport.request_timeout_s > 0, "transport.request_timeout_s",
          Str(c.transport.request_timeout_s), "must be > 0");
  Require(c.transport.request_retries >= 0, "transport.request_retries",
          Str(c.transport.request_retries), "must be >= 0");
  Require(c.transport.connect_timeout_s > 0, "transport.connect_timeout_s",
          Str(c.transport.connect_timeout_s), "must be > 0");
  Require(c.transport.weights_chunk_kib >= 1 && c.transport.weights_chunk_kib <= 1 << 20,
          "transport.weights_chunk_kib", Str(c.transport.weights_chunk_kib),
          "must be in [1, 1048576]");
  Require(c.transport.weights_republish_s > 0, "transport.weights_republish_s",
          Str(c.transport.weights_republish_s), "must be > 0");
  Require(c.transport.send_hwm >= 1, "transport.send_hwm", Str(c.transport.send_hwm),
          "must be >= 1");
  Require(c.transport.receive_hwm >= 1, "transport.receive_hwm", Str(c.transport.receive_hwm),
          "must be >= 1");
}

std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage, const po::options_description& extra) {
  ParsedArgs out;
  po::options_description general("General options");
  general.add_options()("help,h", "print this help and exit")(
      "print-config", "print the effective configuration (INI) and exit")(
      "config", po::value<std::string>(&out.config_path), "INI file with configuration keys");
  po::options_description keys = ConfigOptions(&out.config);
  po::options_description all;
  all.add(general).add(extra).add(keys);

  po::parsed_options command_line(&all);
  try {
    command_line = po::command_line_parser(argc, argv).options(all).run();
    po::store(command_line, out.vm);
  } catch (const po::unknown_option& e) {
    throw InvalidInput("unknown option '" + e.get_option_name() + "' on the command line");
  } catch (const po::error& e) {
    throw InvalidInput(std::string("command line: ") + e.what());
  }
  if (out.vm.count("help")) {
    std::cout << "usage: " << program << " " << usage << "\n\n" << general << "\n";
    if (!extra.options().empty()) std::cout << extra << "\n";
    std::cout << keys;
    return std::nullopt;
  }
  if (out.vm.count("config")) {
    const std::string path = out.vm["config"].as<std::string>();
    std::ifstream file(path);
    if (!file) {
      throw InvalidInput("cannot read config file '" + path + "': " + std::strerror(errno));
    }
    try {
      po::store(po::parse_config_file(file, keys, /*allow_unregistered=*/false), out.vm);
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
  po::notify(out.vm);
  try {
    ValidateConfig(out.config);
  } catch (const BadValue& e) {
    bool from_command_line = false;
    for (const auto& o : command_line.options) from_command_line |= o.string_key == e.key();
    std::string where =
        from_command_line || out.config_path.empty()
            ? " (command line or default)"
            : " (config file '" + out.config_path + "'" + LineOf(out.config_path, e.key()) + ")";
    throw InvalidInput(e.what() + where);
  }
  out.effective_ini = EffectiveIni(keys, out.vm);
  if (out.vm.count("print-config")) {
    std::cout << out.effective_ini;
    return std::nullopt;
  }
  return out;
}

std::vector<std::string> OverridesAsFlags(int argc, const char* const* argv) {
  std::vector<std::string> words;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0 && a.rfind("-", 0) != 0 && a.find('=') != std::string::npos) a = "--" + a;
    words.push_back(a);
  }
  return words;
}

int ObservationFeatures(const RunConfig& config) { return 2 * config.sim.topics + 2; }

std::string RunDirectory(const RunConfig& config) {
  std::string name = config.run.name;
  if (name.empty()) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "run-%Y%m%d-%H%M%S", &tm);
    name = buf;
  }
  return config.run.runs_root + "/" + name;
}

int RunMain(const char* program, int (*body)(int, const char* const*), int argc,
            const char* const* argv) {
  try {
    return body(argc, argv);
  } catch (const Error& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return e.kind() == ErrorKind::kInvalidInput ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace rlrec::common
