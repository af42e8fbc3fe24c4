#include "learner/intake_thread.h"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <chrono>
#include <utility>

#include "common/base/logging.h"

namespace rlrec::learner {
namespace {

// How long the intake waits at most between looks at whether it should stop.
constexpr double kPollSeconds = 0.02;

}  // namespace

IntakeThread::IntakeThread(std::unique_ptr<TrajectoryReceiver> receiver,
                           const common::RunConfig& config, torch::Device device, uint64_t version,
                           size_t ahead, uint64_t published_ahead)
    : receiver_(std::move(receiver)),
      device_(device),
      distinct_history_(config.model.user_encoder == common::UserEncoder::kTransformer),
      intake_(config, published_ahead),
      version_(version),
      ahead_(ahead) {
  if (device_.is_cuda()) {
    copy_stream_ = c10::impl::VirtualGuardImpl(c10::DeviceType::CUDA)
                       .getStreamFromGlobalPool(device_, /*isHighPriority=*/false);
  }
  thread_ = std::thread([this] { Run(); });
}

IntakeThread::~IntakeThread() { Stop(); }

void IntakeThread::Stop() {
  stopping_.store(true);
  space_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void IntakeThread::Run() {
  try {
    Loop();
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = std::current_exception();
  }
  ready_cv_.notify_all();
}

void IntakeThread::Loop() {
  torch::NoGradGuard no_grad;  // batches are inputs: no autograd history
  std::optional<c10::StreamGuard> on_copy_stream;
  if (copy_stream_) on_copy_stream.emplace(*copy_stream_);
  while (!stopping_.load()) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (ready_.size() >= ahead_ + (asking_ ? 1 : 0)) {
        // Enough is stacked: leave the trajectories queued in the socket.
        space_cv_.wait_for(lock, std::chrono::duration<double>(kPollSeconds));
        continue;
      }
    }
    const double decoded_before = receiver_->decode_s();
    auto trajectory = receiver_->Receive(common::After(kPollSeconds));
    received_.store(receiver_->received(), std::memory_order_relaxed);
    decode_errors_.store(receiver_->decode_errors(), std::memory_order_relaxed);
    AddBusy(receiver_->decode_s() - decoded_before);
    if (!trajectory) continue;
    const auto offered = common::Clock::now();
    const uint64_t version = version_.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      intake_.Offer(std::move(*trajectory), version, &pending_);
    }
    if (!intake_.Ready()) {
      AddBusy(common::SecondsSince(offered));
      continue;
    }
    RankReport unused_lags;  // lags are taken when the batch is trained (Next's caller)
    Staged staged = Make(intake_.Take(version, &unused_lags));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      staged.ready.report = std::exchange(pending_, RankReport());
      ready_.push_back(std::move(staged));
    }
    AddBusy(common::SecondsSince(offered));
    ready_cv_.notify_one();
  }
}

void IntakeThread::AddBusy(double seconds) {
  busy_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

IntakeThread::Staged IntakeThread::Make(const std::vector<common::Trajectory>& trajectories) {
  const auto start = common::Clock::now();
  Staged staged;
  for (const auto& t : trajectories) {
    staged.ready.policy_versions.push_back(t.policy_version);
    staged.ready.actor_ids.push_back(t.actor_id);
  }
  try {
    staged.ready.batch =
        MakeBatch(trajectories, device_, /*pinned=*/copy_stream_.has_value(), distinct_history_);
    if (copy_stream_) {
      staged.copied = std::make_shared<c10::Event>(c10::DeviceType::CUDA);
      staged.copied->record(*copy_stream_);
    }
  } catch (const std::exception& e) {
    // Out of memory, say: the learner skips this update on every rank alike.
    staged.ready.batch = Batch();
    staged.ready.error = e.what();
  }
  staged.ready.make_s = common::SecondsSince(start);
  return staged;
}

std::optional<ReadyBatch> IntakeThread::Next(common::Deadline deadline) {
  Staged staged;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    asking_ = true;
    space_cv_.notify_one();
    ready_cv_.wait_until(lock, deadline, [&] { return !ready_.empty() || failure_ != nullptr; });
    asking_ = false;
    if (ready_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return std::nullopt;
    }
    staged = std::move(ready_.front());
    ready_.pop_front();
  }
  space_cv_.notify_one();
  if (staged.copied) {
    // The learner's stream waits for the copy; the memory is not reused before it is done.
    const c10::Stream compute =
        c10::impl::VirtualGuardImpl(c10::DeviceType::CUDA).getStream(device_);
    staged.copied->block(compute);
    for (torch::Tensor* x : TensorsOf(staged.ready.batch)) {
      if (x->defined()) x->record_stream(compute);
    }
  }
  return std::move(staged.ready);
}

RankReport IntakeThread::StopAndTakeUnused() {
  Stop();
  std::lock_guard<std::mutex> lock(mutex_);
  RankReport unused = std::exchange(pending_, RankReport());
  for (const auto& staged : ready_) unused = CombineReports(unused, staged.ready.report);
  ready_.clear();
  return unused;
}

}  // namespace rlrec::learner
