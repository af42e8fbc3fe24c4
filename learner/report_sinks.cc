#include "learner/report_sinks.h"

#include <fstream>
#include <string>
#include <vector>

#include "common/base/atomic_file.h"
#include "common/base/logging.h"
#include "common/run/tensorboard.h"
#include "learner/lead_server.h"
#include "learner/report/metrics_exporter.h"
#include "learner/report/progress_report.h"

namespace rlrec::learner {
namespace {

// The lead's TensorBoard file: a fresh one, or on a resume one holding the run's rows up to
// the checkpoint's update `updates` (common::SurvivingRows); nullptr when run.tensorboard is
// off or the file cannot be written (logged: training goes on without it).
std::unique_ptr<common::TensorBoardWriter> OpenTensorBoard(const common::RunConfig& config,
                                                           const common::RunDir& run_dir,
                                                           bool resume, uint64_t updates) {
  if (!config.run.tensorboard) return nullptr;
  if (!common::TensorBoardWriter::Available()) {
    RLREC_LOG(Warning) << "no TensorBoard files: this rlrec was built without protobuf";
    return nullptr;
  }
  try {
    std::vector<common::ScalarRow> history;
    if (resume) {
      std::vector<std::string> lines;
      std::ifstream in(run_dir.metrics());
      for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
      history = common::SurvivingRows(lines, static_cast<int64_t>(updates));
    }
    auto writer = std::make_unique<common::TensorBoardWriter>(run_dir.tensorboard(), history);
    RLREC_LOG(Info) << "TensorBoard events in " << writer->path()
                    << (resume ? " (" + std::to_string(history.size()) + " earlier rows)" : "");
    return writer;
  } catch (const common::Error& e) {
    RLREC_LOG(Error) << "no TensorBoard files: " << e.what();
    return nullptr;
  }
}

// The lead's Prometheus endpoint when run.metrics_port asks for one, on run.metrics_host (or
// transport.host), its address written to the run folder; nullptr when off or when it cannot
// listen (logged: training goes on). A run.metrics_auth_file that cannot be used is a
// configuration error: thrown (Error(kInvalidInput)), never served without authentication.
std::unique_ptr<MetricsExporter> StartExporter(const common::RunConfig& config,
                                               const common::RunDir& run_dir) {
  if (config.run.metrics_port == 0) return nullptr;
  const std::string& host =
      config.run.metrics_host.empty() ? config.transport.host : config.run.metrics_host;
  try {
    auto exporter = std::make_unique<MetricsExporter>(host, config.run.metrics_port,
                                                      config.run.metrics_auth_file);
    common::WriteFileAtomically(run_dir.metrics_endpoint(), {exporter->url(), "\n"});
    RLREC_LOG(Info) << "Prometheus metrics at " << exporter->url()
                    << (config.run.metrics_auth_file.empty()
                            ? " (no authentication)"
                            : " (HTTP basic authentication: run.metrics_auth_file)");
    return exporter;
  } catch (const common::Error& e) {
    if (e.kind() == common::ErrorKind::kInvalidInput) throw;
    RLREC_LOG(Error) << e.what() << "; training goes on without it";
    return nullptr;
  }
}

}  // namespace

ReportSinks::ReportSinks(const common::RunConfig& config, const common::RunDir& run_dir,
                         bool resume, uint64_t updates, LeadServer& server,
                         ProgressReporter& reporter)
    : tensorboard_(OpenTensorBoard(config, run_dir, resume, updates)),
      exporter_(StartExporter(config, run_dir)),
      server_(server),
      reporter_(reporter) {
  reporter_.SetRowSink([this](const common::JsonObject& row) {
    if (exporter_) {
      exporter_->Update(row);
      exporter_->UpdateActors(server_.health().actors(), common::Clock::now());
    }
    if (tensorboard_) tensorboard_->Write(common::ScalarRowOf(row));
  });
}

ReportSinks::~ReportSinks() { reporter_.SetRowSink({}); }

}  // namespace rlrec::learner
