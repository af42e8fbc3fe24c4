#ifndef RLREC_LEARNER_REPORT_SINKS_H_
#define RLREC_LEARNER_REPORT_SINKS_H_

#include <cstdint>
#include <memory>

#include "common/config/config_keys.h"
#include "common/run/run_folder.h"

namespace rlrec::common {
class TensorBoardWriter;
}  // namespace rlrec::common

namespace rlrec::learner {

class LeadServer;
class MetricsExporter;
class ProgressReporter;

// Where the lead's rows go besides metrics.jsonl: TensorBoard (run.tensorboard; on a resume
// its file keeps the run's rows up to the checkpoint's update `updates`) and Prometheus
// (run.metrics_port, on run.metrics_host or transport.host, its address written to the run
// folder). Either may be off, or fail to open: logged, and training goes on without it; a
// run.metrics_auth_file that cannot be used is a configuration error (Error(kInvalidInput)),
// never served without authentication. Feeds them from `reporter`, with the actors `server`
// knows, for its own lifetime; `server` and `reporter` must outlive it.
class ReportSinks {
 public:
  ReportSinks(const common::RunConfig& config, const common::RunDir& run_dir, bool resume,
              uint64_t updates, LeadServer& server, ProgressReporter& reporter);
  ~ReportSinks();
  ReportSinks(const ReportSinks&) = delete;
  ReportSinks& operator=(const ReportSinks&) = delete;

 private:
  const std::unique_ptr<common::TensorBoardWriter> tensorboard_;
  const std::unique_ptr<MetricsExporter> exporter_;
  LeadServer& server_;
  ProgressReporter& reporter_;
};

}  // namespace rlrec::learner

#endif  // RLREC_LEARNER_REPORT_SINKS_H_
