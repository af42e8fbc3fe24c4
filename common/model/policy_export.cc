#include "common/model/policy_export.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/base/atomic_file.h"
#include "common/base/error.h"
#include "common/base/json.h"
#include "common/config/config.h"
#include "common/model/checkpoint_file.h"
#include "common/model/policy_model.h"

namespace rlrec::common {
namespace {

// HistoryTransformerImpl::Forward in TorchScript (common/model/history_transformer.h), from
// `tokens` [N, S, D] and `topics` [N, S] to `history` [N, D], layer by layer.
std::string TransformerSource(const PolicyModelOptions& o) {
  const std::string D = std::to_string(o.hidden), A = std::to_string(o.heads);
  const std::string W = std::to_string(o.hidden / o.heads), L = std::to_string(o.layers);
  const std::string t = "self.history_transformer_";
  char scale[32];  // sqrt(W), exactly as a double prints
  std::snprintf(scale, sizeof(scale), "%.17g", std::sqrt(static_cast<double>(o.hidden / o.heads)));
  std::string source = R"(
    n = tokens.size(0)
    s = tokens.size(1)
    empty = (topics < 0).unsqueeze(1)
    mem = torch.layer_norm(tokens, [)" +
                       D + "], " + t + "memory_norm_weight, " + t +
                       R"(memory_norm_bias, 1e-5)
    kv = (torch.matmul(mem, )" +
                       t + "memory_weight.t()) + " + t + R"(memory_bias).view([n, s, )" + L +
                       ", 2, " + D + R"(])
    h = )" + t + "query.unsqueeze(0).expand([n, " +
                       D + "])\n";
  for (int l = 0; l < o.layers; ++l) {
    const std::string p = t + "layers_" + std::to_string(l) + "_";
    source += R"(
    x = torch.layer_norm(h, [)" +
              D + "], " + p + "query_norm_weight, " + p +
              R"(query_norm_bias, 1e-5)
    q = (torch.matmul(x, )" +
              p + "query_weight.t()) + " + p + "query_bias).view([n, " + A + ", 1, " + W + R"(])
    k = kv[:, :, )" +
              std::to_string(l) + ", 0].reshape([n, s, " + A + ", " + W +
              R"(]).permute([0, 2, 3, 1])
    v = kv[:, :, )" +
              std::to_string(l) + ", 1].reshape([n, s, " + A + ", " + W +
              R"(]).permute([0, 2, 1, 3])
    logits = torch.matmul(q, k).squeeze(2) / )" +
              scale +
              R"(
    logits = (logits + )" +
              p + R"(age_bias[:, :s].unsqueeze(0)).masked_fill(empty, float('-inf'))
    logits = torch.cat([logits, )" +
              p + "null_logit.view([1, " + A + ", 1]).expand([n, " + A +
              R"(, 1])], 2)
    prob = torch.softmax(logits, 2)
    read = torch.matmul(prob[:, :, :s].unsqueeze(2), v).squeeze(2)
    read = read + prob[:, :, s:] * )" +
              p + "null_value.view([1, " + A + ", " + W + R"(])
    h = h + torch.matmul(read.reshape([n, )" +
              D + "]), " + p + "out_weight.t()) + " + p +
              R"(out_bias
    f = torch.layer_norm(h, [)" +
              D + "], " + p + "ffn_norm_weight, " + p + R"(ffn_norm_bias, 1e-5)
    f = torch.gelu(torch.matmul(f, )" +
              p + "ffn_in_weight.t()) + " + p +
              R"(ffn_in_bias)
    h = h + torch.matmul(f, )" +
              p + "ffn_out_weight.t()) + " + p + "ffn_out_bias\n";
  }
  source += "    history = torch.layer_norm(h, [" + D + "], " + t + "out_norm_weight, " + t +
            "out_norm_bias, 1e-5)\n";
  return source;
}

// The forward pass of PolicyModelImpl in TorchScript, over the parameters registered on the
// module under their names with '.' as '_'. Kept in step with PolicyModelImpl::Forward; the
// export test compares the two on the same inputs.
std::string ForwardSource(const PolicyModelOptions& o, int slate_size) {
  std::string history;
  if (o.user_encoder == UserEncoder::kTransformer) {
    history = TransformerSource(o);
  } else if (o.user_encoder == UserEncoder::kPooled) {
    history = R"(
    count = valid.sum(1, keepdim=True).clamp_min(1.0)
    history = (tokens * valid.unsqueeze(2)).sum(1) / count
)";
  } else {
    history = R"(
    history = torch.zeros([tokens.size(0), tokens.size(2)], dtype=tokens.dtype)
    for k in range(tokens.size(1)):
        j = tokens.size(1) - 1 - k
        x = tokens[:, j]
        gi = torch.matmul(x, self.history_gru_weight_ih.t()) + self.history_gru_bias_ih
        gh = torch.matmul(history, self.history_gru_weight_hh.t()) + self.history_gru_bias_hh
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        nxt = (1.0 - z) * n + z * history
        history = torch.where(valid[:, j].unsqueeze(1) > 0, nxt, history)
)";
  }
  const std::string buckets = std::to_string(o.item_buckets);
  const bool projected = o.embedding_dim > 0 && o.embedding_dim != o.hidden;
  const std::string item_vectors =
      projected ? "torch.matmul(rows_e, self.item_projection_weight.t())" : "rows_e";
  return R"(
def item_vectors(self, rows: Tensor) -> Tensor:
    rows_e = torch.embedding(self.item_embedding_weight, rows)
    return )" +
         item_vectors + R"(

def item_rows(self, ids: Tensor) -> Tensor:
    if )" +
         buckets +
         R"( == 0:
        return torch.zeros_like(ids)
    return torch.where(ids >= 0, torch.remainder(ids, )" +
         buckets + R"() + 1, torch.zeros_like(ids))

def forward(self, features: Tensor, candidate_items: Tensor, history_items: Tensor,
            history_topics: Tensor, history_responses: Tensor) -> Tuple[Tensor, Tensor]:
    topics = history_topics.long()
    valid = (topics >= 0).float()
    response = history_responses.clamp_min(0.0)
    response_features = torch.stack([torch.log1p(response), (response > 0).float()], 2)
    tokens = (self.item_vectors(self.item_rows(history_items.long()))
              + torch.embedding(self.topic_embedding_weight, topics.clamp_min(-1) + 1)
              + torch.matmul(response_features, self.response_in_weight.t())
              + self.response_in_bias)
)" + history +
         R"(
    user_row = features[:, 0]
    items = features[:, 1:]
    hidden = torch.relu(torch.matmul(torch.cat([user_row, history], 1), self.user_in_weight.t())
                        + self.user_in_bias)
    user = torch.matmul(hidden, self.user_out_weight.t()) + self.user_out_bias
    rows = self.item_rows(candidate_items.long())
    item_hidden = torch.relu(torch.matmul(items, self.item_in_weight.t()) + self.item_in_bias)
    item = (torch.matmul(item_hidden, self.item_out_weight.t()) + self.item_out_bias
            + self.item_vectors(rows))
    scores = (torch.bmm(item, user.unsqueeze(2)).squeeze(2)
              + (torch.matmul(items, self.item_bias_weight.t()) + self.item_bias_bias).squeeze(2)
              + torch.embedding(self.item_score_bias_weight, rows).squeeze(2))
    slate = torch.topk(scores, )" +
         std::to_string(slate_size) + R"(, 1)[1]
    return scores, slate
)";
}

std::string ConfigPbtxt(int C, int F, int H, int K) {
  auto dims = [](std::initializer_list<int> d) {
    std::string s;
    for (int x : d) s += (s.empty() ? "[ " : ", ") + std::to_string(x);
    return s + " ]";
  };
  return "name: \"rlrec_policy\"\n"
         "platform: \"pytorch_libtorch\"\n"
         "max_batch_size: 1024\n"
         "input [\n"
         "  { name: \"features__0\" data_type: TYPE_FP32 dims: " +
         dims({C + 1, F}) +
         " },\n"
         "  { name: \"candidate_items__1\" data_type: TYPE_INT64 dims: " +
         dims({C}) +
         " },\n"
         "  { name: \"history_items__2\" data_type: TYPE_INT64 dims: " +
         dims({H}) +
         " },\n"
         "  { name: \"history_topics__3\" data_type: TYPE_INT64 dims: " +
         dims({H}) +
         " },\n"
         "  { name: \"history_responses__4\" data_type: TYPE_FP32 dims: " +
         dims({H}) +
         " }\n"
         "]\n"
         "output [\n"
         "  { name: \"scores__0\" data_type: TYPE_FP32 dims: " +
         dims({C}) +
         " },\n"
         "  { name: \"slate__1\" data_type: TYPE_INT64 dims: " +
         dims({K}) +
         " }\n"
         "]\n"
         "dynamic_batching { }\n";
}

// The model repository's folder under `out_dir`, named as the model is in config.pbtxt.
std::string RepositoryDir(const std::string& out_dir) { return out_dir + "/rlrec_policy"; }

}  // namespace

std::string ExportedModelPath(const std::string& out_dir) {
  return RepositoryDir(out_dir) + "/1/model.pt";
}

std::string ExportedConfigPath(const std::string& out_dir) {
  return RepositoryDir(out_dir) + "/run_config.ini";
}

ExportSummary ExportPolicy(const std::string& checkpoint, const RunConfig& config,
                           const std::string& out_dir) {
  const PolicyModelOptions options = ModelOptions(config);
  PolicyModel model(options);
  torch::serialize::InputArchive archive;
  ReadCheckpointModel(checkpoint, *model, &archive);
  ExportSummary summary;
  summary.updates = ReadCheckpointCounter(archive, "updates", checkpoint);
  summary.snapshot_version = ReadCheckpointCounter(archive, "snapshot_version", checkpoint);

  const int K = config.sim.slate_size, C = config.sim.candidates, H = config.sim.history_length;
  torch::jit::Module module("RlrecPolicy");
  for (const auto& p : model->named_parameters()) {
    std::string name = p.key();
    std::replace(name.begin(), name.end(), '.', '_');
    module.register_parameter(name, p.value().detach().clone(), /*is_buffer=*/false);
  }
  try {
    module.define(ForwardSource(options, K));
  } catch (const c10::Error& e) {
    throw Internal(std::string("the export's TorchScript does not compile: ") +
                   e.what_without_backtrace());
  }
  module.eval();

  const std::string dir = RepositoryDir(out_dir);
  summary.model_path = ExportedModelPath(out_dir);
  summary.metadata_path = dir + "/metadata.json";
  summary.config_path = ExportedConfigPath(out_dir);
  std::filesystem::create_directories(std::filesystem::path(summary.model_path).parent_path());
  try {
    module.save(summary.model_path);
  } catch (const c10::Error& e) {
    throw Unavailable("cannot write '" + summary.model_path + "': " + e.what_without_backtrace());
  }
  WriteFileAtomically(dir + "/config.pbtxt", {ConfigPbtxt(C, options.feature_dim, H, K)});
  JsonObject meta;
  meta.Add("format", "rlrec-policy/1")
      .Add("checkpoint", checkpoint)
      .Add("updates", summary.updates)
      .Add("snapshot_version", summary.snapshot_version)
      .Add("user_encoder", ChoiceName(options.user_encoder))
      .Add("hidden", options.hidden)
      .Add("layers", options.user_encoder == UserEncoder::kTransformer ? options.layers : 0)
      .Add("item_count", options.item_buckets)
      .Add("topics", options.topics)
      .Add("candidates", C)
      .Add("features", options.feature_dim)
      .Add("history_length", H)
      .Add("slate_size", K)
      .Add("temperature", config.model.temperature)
      .Add("inputs",
           "features float32 [N,1+C,F]; candidate_items int64 [N,C]; history_items int64 "
           "[N,H]; history_topics int64 [N,H]; history_responses float32 [N,H]")
      .Add("outputs", "scores float32 [N,C]; slate int64 [N,K] (greedy, best first)");
  WriteFileAtomically(summary.metadata_path, {meta.str(), "\n"});
  WriteFileAtomically(summary.config_path, {ConfigIni(config)});
  return summary;
}

}  // namespace rlrec::common
