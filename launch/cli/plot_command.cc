#include "launch/cli/plot_command.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

#include "common/base/error.h"
#include "common/base/json.h"
#include "common/run/metrics_fields.h"
#include "launch/cli/child_process.h"

namespace rlrec::launch {
namespace {

// Columns of curves.tsv, in order, after env_steps.
using M = common::Metric;
constexpr M kColumns[] = {M::kMeanReturn,    M::kPolicyLoss,   M::kValueLoss,    M::kEntropy,
                          M::kPolicyLagMean, M::kPolicyLagMax, M::kEnvStepsPerS, M::kUpdatesPerS};

constexpr char kScript[] = R"gp(set terminal pngcairo size 1400,900 font ",10"
set output OUT
set datafile missing "NaN"
set datafile separator "\t"
set key top left
set grid
set xlabel "environment steps"
set multiplot layout 2,2 title TITLE
set title "mean return per session"
plot DATA using 1:2 with lines lw 2 title "mean return"
set title "loss terms"
plot DATA using 1:3 with lines title "policy loss", DATA using 1:4 with lines title "value loss", DATA using 1:5 with lines title "entropy"
set title "policy lag (snapshots)"
set yrange [0:*]
set offsets 0, 0, 0.5, 0
plot DATA using 1:6 with lines title "mean", DATA using 1:7 with lines title "max"
set title "throughput"
set offsets 0, 0, 0, 0
set y2range [0:*]
set ytics nomirror
set y2tics
plot DATA using 1:8 with lines title "env steps/s", DATA using 1:9 axes x1y2 with lines title "updates/s (right)"
unset multiplot
)gp";

}  // namespace

std::string PlotRun(const common::RunDir& run) {
  std::ifstream in(run.metrics());
  if (!in) throw common::InvalidInput("no metrics.jsonl in run folder '" + run.path() + "'");
  const std::string data = run.Path(common::RunFile::kCurvesData);
  std::ofstream out(data, std::ios::trunc);
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    auto steps = common::JsonNumberField(line, common::NameOf(M::kEnvSteps));
    if (!steps) continue;
    out << *steps;
    for (const M column : kColumns) {
      auto value = common::JsonNumberField(line, common::NameOf(column));
      out << '\t';
      if (value && std::isfinite(*value)) {
        out << *value;
      } else {
        out << "NaN";
      }
    }
    out << '\n';
    ++rows;
  }
  out.close();
  if (rows == 0) throw common::InvalidInput("'" + run.metrics() + "' holds no rows yet");
  const std::string script = run.Path(common::RunFile::kCurvesScript);
  const std::string png = run.Path(common::RunFile::kCurves);
  const std::string log = run.Path(common::RunFile::kPlotLog);
  std::ofstream(script, std::ios::trunc) << kScript;
  std::string title = run.path();
  for (char& c : title) c = c == '"' ? '\'' : c;
  ChildProcess gnuplot({"/usr/bin/gnuplot", "-e",
                        "OUT='" + png + "'; DATA='" + data + "'; TITLE='" + title + "'", script},
                       log, false);
  auto status = gnuplot.WaitFor(60);
  if (!status || *status != 0) {
    throw common::Unavailable("gnuplot could not draw '" + png + "' (exit " +
                              (status ? std::to_string(*status) : "timeout") +
                              "; is Debian's gnuplot-nox installed? see " + log + ")");
  }
  return png;
}

int PlotCommand(int argc, const char* const* argv) {
  if (argc != 2 || std::strcmp(argv[1], "--help") == 0) {
    std::cout << "usage: rlrec plot RUN_DIR\n\nDraws RUN_DIR/curves.png from "
                 "RUN_DIR/metrics.jsonl: return, losses, policy lag and throughput against "
                 "environment steps.\n";
    return argc == 2 ? 0 : 2;
  }
  std::cout << "rlrec plot: " << PlotRun(common::RunDir(argv[1])) << "\n";
  return 0;
}

}  // namespace rlrec::launch
