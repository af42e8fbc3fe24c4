#ifndef RLREC_COMMON_CONFIG_H_
#define RLREC_COMMON_CONFIG_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rlrec::common {

// Every setting of a run. One file (INI, sections as key prefixes: [learner] batch_size is
// "learner.batch_size") configures every program of the run; each program reads all keys
// and uses its own. Defaults are those of configs/local.ini's small local job.
struct RunConfig {
  struct Run {
    std::string name;  // run folder name under runs_root; empty: dated name
    std::string runs_root = "runs";
    uint64_t seed = 1;
    double budget_seconds = 120;        // wall-clock budget of the learner; 0 = none
    uint64_t max_updates = 0;           // 0 = no limit
    uint64_t max_env_steps = 0;         // 0 = no limit
    double report_every_s = 2;          // progress line and metrics.jsonl row interval
    uint64_t report_every_updates = 0;  // rows by update count instead; 0: by time
    uint64_t checkpoint_every = 1000;   // updates between checkpoints; 0: by time only
    double checkpoint_minutes = 10;     // minutes between checkpoints; 0: by updates only
    int keep_checkpoints = 3;           // newest checkpoints kept
  } run;
  struct Sim {
    std::string model = "interest_evolution";
    int users_per_actor = 32;  // E: users one actor steps as a batch
    int candidates = 10;       // C: candidate items offered per step
    int slate_size = 2;        // K: items recommended per step
    int topics = 20;           // T: topics
    double time_budget = 200;  // session budget per user
    bool observe_interests = false;
    std::string choice = "proportional";  // or "mnl"
    double choice_temperature = 1.0;
    double position_bias = 1.0;    // attractiveness x bias^position; 1: none
    int corpus_size = 0;           // 0: fresh documents every step
    double popularity_skew = 0;    // Zipf exponent over the corpus
    int item_lifetime = 0;         // corpus item turnover in steps; 0: none
    double cold_start_rate = 1.0;  // share of users arriving without history
    double interest_drift = 0;     // per-step std of interest drift
    int history_length = 10;       // H: past impressions the agent sees
  } sim;
  struct Model {
    int hidden = 64;
    double temperature = 1.0;
    double epsilon = 0.0;                 // share of slates drawn uniformly at random (exploration)
    std::string user_encoder = "pooled";  // history encoder: "pooled" or "gru"
    int item_buckets = 0;                 // item-id embedding rows; 0: sim.corpus_size
  } model;
  struct Learner {
    std::string device = "cpu";
    int batch_trajectories = 4;
    double learning_rate = 1e-3;
    double discount = 0.95;
    double value_coef = 0.5;
    double entropy_coef = 0.01;
    double max_grad_norm = 40;
    int publish_every = 2;
    std::string objective = "vtrace";  // or "pg", "topk_reinforce"
    double rho_bar = 1.0;              // V-trace importance-weight clip
    double c_bar = 1.0;                // V-trace trace clip
    double importance_cap = 5.0;       // topk_reinforce: cap of pi / mu
    int max_policy_lag = 0;            // drop older trajectories (in snapshots); 0: keep all
    int threads = 1;
    bool synchronous = false;           // lockstep with every actor: bit-for-bit reproducible runs
    double bucket_mib = 25;             // gradient all-reduce bucket size across ranks
    double collective_timeout_s = 600;  // longest wait for the other learner ranks
  } learner;
  struct Actor {
    int count = 0;  // actors the local launcher starts; 0 = one per core
    int unroll = 20;
    int threads = 1;
  } actor;
  struct Transport {
    std::string host = "127.0.0.1";  // address the learner binds and advertises
    int control_port = 0;            // 0: pick a free port
    int trajectory_port = 0;
    int weights_port = 0;
    std::string control;  // actors: the lead's control endpoint
    double request_timeout_s = 2;
    int request_retries = 3;
    double connect_timeout_s = 60;  // actors: how long to keep trying to reach the learner
    int weights_chunk_kib = 1024;
    double weights_republish_s = 1;
    int send_hwm = 1;     // trajectories queued per actor before it blocks
    int receive_hwm = 2;  // trajectories queued at the learner
  } transport;
};

// The outcome of parsing a program's arguments.
struct ParsedArgs {
  RunConfig config;
  std::string config_path;                   // empty when no --config was given
  std::string effective_ini;                 // every key with its final value, as INI
  boost::program_options::variables_map vm;  // includes the program's own options
};

// Parses `argv` of `program`: --config FILE, --help, every RunConfig key as --section.key
// (the command line wins over the file), and the program's own `extra` options.
// Returns nullopt after printing help (--help) or the effective configuration
// (--print-config) to stdout: the program then exits with 0.
// Throws Error(kInvalidInput) with a one-line message naming the key or file when the file is
// missing or unreadable, a key is unknown, a value is malformed or out of range.
std::optional<ParsedArgs> ParseArgs(int argc, const char* const* argv, const char* program,
                                    const char* usage,
                                    const boost::program_options::options_description& extra);

// argv with every "section.key=value" word after argv[0] rewritten as "--section.key=value",
// so launcher commands take overrides the way `rlrec train ... learner.discount=0.9` reads.
std::vector<std::string> OverridesAsFlags(int argc, const char* const* argv);

// Checks every value of `config`; throws Error(kInvalidInput) naming the first bad key.
void ValidateConfig(const RunConfig& config);

// The run folder `config` names: run.runs_root/run.name, or a dated name when run.name is
// empty ("run-20261128-154501"). Does not create it.
std::string RunDirectory(const RunConfig& config);

// Features per observation row for `config`'s simulator (must equal the simulator's
// feature_dim(); a test holds them together).
int ObservationFeatures(const RunConfig& config);

// Runs `body` (a program's main work) and turns escaped rlrec errors into a one-line
// "PROGRAM: error: ..." on stderr and exit code 2 for invalid input, 1 otherwise.
int RunMain(const char* program, int (*body)(int, const char* const*), int argc,
            const char* const* argv);

}  // namespace rlrec::common

#endif  // RLREC_COMMON_CONFIG_H_
