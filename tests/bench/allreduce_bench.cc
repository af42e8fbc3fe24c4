// Gradient all-reduce across learner ranks, nccl-tests style: for each message size, the
// time of rlrec's gradient sync (GradientBuckets::AllReduce over a model-like set of
// parameters, through the Collective the learner uses) beside a bare MPI_Allreduce (or
// ncclAllReduce with --device cuda) of the same bytes, with algorithm bandwidth
// (bytes / time) and bus bandwidth (algbw x 2 (n - 1) / n). Every result is checked.
//
//   mpirun -np 2 build/bench/allreduce_bench [--seconds S] [--max-mib M] [--device cpu|cuda]
//   [--json]
#include <mpi.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/base/json.h"
#include "learner/ranks/collective.h"
#include "learner/ranks/gradient_buckets.h"
#include "learner/ranks/mpi_world.h"

namespace rlrec::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kTimeoutS = 600;

struct Timing {
  double seconds_per_op = 0;
  uint64_t wrong = 0;
};

// Runs `op` until `seconds` have passed (at least 3 times) after 2 warm-up calls; every rank
// runs the same count (rank 0 decides). Returns the mean time per call.
template <typename Op>
double TimeIt(double seconds, Op op) {
  op();
  op();
  int iterations = 0;
  const auto start = Clock::now();
  while (true) {
    op();
    ++iterations;
    int more =
        std::chrono::duration<double>(Clock::now() - start).count() < seconds || iterations < 3;
    learner::CheckMpi(MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
    if (!more) break;
  }
  return std::chrono::duration<double>(Clock::now() - start).count() / iterations;
}

// The bare collective: one in-place all-reduce of `count` floats.
Timing Bare(const learner::MpiWorld& world, int64_t count, double seconds, torch::Device device,
            learner::Collective& collective) {
  auto buffer = torch::empty({count}, torch::TensorOptions().device(device));
  auto fill = [&] { buffer.fill_(world.rank() + 1); };
  Timing t;
  if (device.is_cpu()) {
    t.seconds_per_op = TimeIt(seconds, [&] {
      learner::CheckMpi(MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr<float>(),
                                      static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                        "MPI_Allreduce");
    });
  } else {
    // On CUDA the bare call is the backend's own all-reduce, without buckets.
    t.seconds_per_op = TimeIt(seconds, [&] { collective.AllReduceSum(buffer); });
  }
  fill();
  if (device.is_cpu()) {
    learner::CheckMpi(MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr<float>(), static_cast<int>(count),
                                    MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                      "MPI_Allreduce");
  } else {
    collective.AllReduceSum(buffer);
  }
  const double expected = world.size() * (world.size() + 1) / 2.0;
  t.wrong = (buffer.cpu() != expected).sum().item<int64_t>();
  return t;
}

// rlrec's sync: the same bytes as a model's gradients, in buckets of `bucket_bytes`.
Timing Rlrec(const learner::MpiWorld& world, int64_t count, double seconds, torch::Device device,
             learner::Collective& collective, size_t bucket_bytes) {
  // Parameters like a model's: a few big matrices, then smaller and smaller ones (halving
  // down to 64 elements), the rest in one.
  std::vector<torch::Tensor> parameters;
  auto add = [&](int64_t n) {
    parameters.push_back(torch::zeros({n}, torch::TensorOptions().device(device)).requires_grad_());
  };
  int64_t left = count;
  for (int64_t piece = count / 4; piece >= 64 && left > piece; piece /= 2) {
    add(piece);
    left -= piece;
  }
  add(left);
  learner::GradientBuckets buckets(parameters, bucket_bytes);
  Timing t;
  t.seconds_per_op = TimeIt(seconds, [&] { buckets.AllReduce(collective); });
  buckets.ZeroGrad();
  for (auto& p : parameters) p.mutable_grad().fill_(world.rank() + 1);
  buckets.AllReduce(collective);
  const double expected = world.size() * (world.size() + 1) / 2.0;
  for (auto& p : parameters) t.wrong += (p.grad().cpu() != expected).sum().item<int64_t>();
  return t;
}

int Main(int argc, char** argv) {
  double seconds = 0.3, max_mib = 256;
  int repeats = 3;
  bool json = false;
  std::string device_name = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else if (a == "--max-mib" && i + 1 < argc) {
      max_mib = std::stod(argv[++i]);
    } else if (a == "--device" && i + 1 < argc) {
      device_name = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: mpirun -np N allreduce_bench [--seconds S] [--repeats R] "
                   "[--max-mib M] [--device cpu|cuda] [--json]\n");
      return 2;
    }
  }
  // One LibTorch thread, as the learner runs (learner.threads): idle OpenMP workers spinning
  // after a parallel fill would steal the cores the other ranks' all-reduce needs.
  torch::set_num_threads(1);
  learner::MpiWorld world;
  if (world.size() < 2) {
    std::fprintf(stderr, "allreduce_bench: run it under mpirun with at least 2 ranks\n");
    return 2;
  }
  torch::Device device = device_name == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  auto collective = learner::MakeCollective(world, device, kTimeoutS);
  const size_t bucket_bytes = size_t(25) << 20;  // the learner's default learner.bucket_mib
  const double bus_factor = 2.0 * (world.size() - 1) / world.size();
  if (world.rank() == 0 && !json) {
    std::printf("%d ranks, %s, buckets of %zu MiB\n", world.size(), collective->backend().c_str(),
                bucket_bytes >> 20);
    std::printf("%10s | %10s %9s %9s | %10s %9s %9s | %6s %6s\n", "bytes", "bare us", "algbw",
                "busbw", "rlrec us", "algbw", "busbw", "ratio", "#wrong");
  }
  uint64_t wrong_total = 0;
  for (int64_t bytes = 4 << 10; bytes <= int64_t(max_mib * (1 << 20)); bytes *= 4) {
    const int64_t count = bytes / 4;
    // Best of `repeats`, the two interleaved, so both see the same machine.
    Timing bare, ours;
    for (int r = 0; r < repeats; ++r) {
      Timing b = Bare(world, count, seconds, device, *collective);
      Timing o = Rlrec(world, count, seconds, device, *collective, bucket_bytes);
      if (r == 0 || b.seconds_per_op < bare.seconds_per_op) bare.seconds_per_op = b.seconds_per_op;
      if (r == 0 || o.seconds_per_op < ours.seconds_per_op) ours.seconds_per_op = o.seconds_per_op;
      bare.wrong += b.wrong;
      ours.wrong += o.wrong;
    }
    wrong_total += bare.wrong + ours.wrong;
    if (world.rank() != 0) continue;
    const double bare_alg = bytes / bare.seconds_per_op / 1e9;
    const double ours_alg = bytes / ours.seconds_per_op / 1e9;
    const double ratio = ours.seconds_per_op / bare.seconds_per_op;
    if (json) {
      common::JsonObject row;
      row.Add("bytes", static_cast<uint64_t>(bytes))
          .Add("ranks", world.size())
          .Add("backend", collective->backend())
          .Add("bare_us", bare.seconds_per_op * 1e6)
          .Add("bare_algbw_gbs", bare_alg)
          .Add("bare_busbw_gbs", bare_alg * bus_factor)
          .Add("rlrec_us", ours.seconds_per_op * 1e6)
          .Add("rlrec_algbw_gbs", ours_alg)
          .Add("rlrec_busbw_gbs", ours_alg * bus_factor)
          .Add("time_ratio", ratio)
          .Add("wrong", bare.wrong + ours.wrong);
      std::printf("%s\n", row.str().c_str());
    } else {
      std::printf("%10lld | %10.1f %9.3f %9.3f | %10.1f %9.3f %9.3f | %6.3f %6llu\n",
                  static_cast<long long>(bytes), bare.seconds_per_op * 1e6, bare_alg,
                  bare_alg * bus_factor, ours.seconds_per_op * 1e6, ours_alg, ours_alg * bus_factor,
                  ratio, static_cast<unsigned long long>(bare.wrong + ours.wrong));
    }
    std::fflush(stdout);
  }
  return wrong_total == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rlrec::bench

int main(int argc, char** argv) { return rlrec::bench::Main(argc, argv); }
