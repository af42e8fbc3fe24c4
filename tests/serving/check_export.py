"""Loads an rlrec export the way a Python server would (torch.jit.load) and prints its
scores and slates, as JSON, for inputs built from formulas that tests/model_inputs.cc
(FormulaInput) builds the same way in C++.

usage: python3 check_export.py MODEL_PT N C F H ITEMS TOPICS
"""
import json
import sys

import torch


def formula_input(n, c, f, h, items, topics):
    features = torch.sin(torch.arange(n * (c + 1) * f, dtype=torch.float32) * 0.37)
    features = features.reshape(n, c + 1, f)
    candidate_items = (torch.arange(n * c, dtype=torch.int64) * 7 % items).reshape(n, c)
    history_items = (torch.arange(n * h, dtype=torch.int64) * 3 % items).reshape(n, h)
    history_topics = (torch.arange(n * h, dtype=torch.int64) % topics).reshape(n, h)
    history_responses = ((torch.arange(n * h) % 5).float() * 0.5).reshape(n, h)
    filled = h // 2
    history_items[:, filled:] = -1
    history_topics[:, filled:] = -1
    history_responses[:, filled:] = 0
    return features, candidate_items, history_items, history_topics, history_responses


def main():
    path = sys.argv[1]
    n, c, f, h, items, topics = (int(x) for x in sys.argv[2:8])
    module = torch.jit.load(path)
    with torch.no_grad():
        scores, slate = module(*formula_input(n, c, f, h, items, topics))
    print(json.dumps({"scores": scores.reshape(-1).tolist(),
                      "slate": slate.reshape(-1).tolist(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
