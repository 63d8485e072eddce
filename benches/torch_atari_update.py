"""PyTorch's time for one first-order update of the Atari actor-critic at batch 640, one
thread: the yardstick of the target "first-order update no slower than PyTorch's
forward+backward measured on the same machine" (the book's Performance page).

The network is the one `cargo bench --bench update -- atari` times (paper appendix A.1;
`Architecture::AtariAcktr`): conv 32 8x8/4, 64 4x4/2, 32 3x3/1 (ReLU), fc 512 (ReLU), a
6-way softmax policy head and a linear value head on 4x84x84 inputs, batch 640 (32 copies
x 20 steps). The loss is A2C's: -mean(A log pi(a|s)) - 0.01 H + 0.5 mean((V - R)^2).
Timed: forward + backward, and forward + backward + RMSProp step (baselines' a2c settings:
lr 7e-4, alpha 0.99, eps 1e-5), median of `--reps` after 2 warm-up repetitions.

Not a test dependency: run by hand, e.g.
    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.5.1 numpy
    /tmp/torch/bin/python benches/torch_atari_update.py --reps 10
Prints one JSON line.
"""
import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class AtariAcktr(nn.Module):
    def __init__(self, actions: int):
        super().__init__()
        self.c1 = nn.Conv2d(4, 32, 8, stride=4)
        self.c2 = nn.Conv2d(32, 64, 4, stride=2)
        self.c3 = nn.Conv2d(64, 32, 3, stride=1)
        self.fc = nn.Linear(32 * 7 * 7, 512)
        self.pi = nn.Linear(512, actions)
        self.v = nn.Linear(512, 1)

    def forward(self, x):
        h = F.relu(self.c1(x))
        h = F.relu(self.c2(h))
        h = F.relu(self.c3(h))
        h = F.relu(self.fc(h.flatten(1)))
        return self.pi(h), self.v(h).squeeze(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=640)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = AtariAcktr(6)
    opt = torch.optim.RMSprop(net.parameters(), lr=7e-4, alpha=0.99, eps=1e-5)
    b = args.batch
    obs = torch.randint(0, 256, (b, 4, 84, 84), dtype=torch.uint8).float() / 255.0
    actions = torch.randint(0, 6, (b,))
    adv = torch.randn(b)
    ret = torch.randn(b)

    def loss():
        logits, v = net(obs)
        logp = F.log_softmax(logits, dim=1)
        pg = -(adv * logp.gather(1, actions[:, None]).squeeze(1)).mean()
        ent = -(logp.exp() * logp).sum(1).mean()
        return pg - 0.01 * ent + 0.5 * ((v - ret) ** 2).mean()

    def fwd_bwd():
        opt.zero_grad(set_to_none=False)
        loss().backward()

    def update():
        fwd_bwd()
        opt.step()

    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": b,
           "python": platform.python_version(), "machine": platform.processor() or platform.machine()}
    for name, f in [("forward_backward", fwd_bwd), ("update_rmsprop", update)]:
        for _ in range(2):
            f()
        times = []
        for _ in range(args.reps):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        out[name + "_s_median"] = statistics.median(times)
        out[name + "_s_min"] = min(times)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
