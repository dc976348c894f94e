"""Pieces shared by the training scripts (train_centernet.py, train_detr.py,
train_vfnet.py): the data and run options of their `train` command, and the
per-worker setup of their batch streams, and the bookkeeping of their
training loops."""

import time

import numpy as np
import torch


def add_data_args(t):
    """Training data options: where to write, the render cache, the
    generator seeds (seeds >= 9000 are reserved for held-out data)."""
    t.add_argument("--out-dir", required=True)
    t.add_argument("--cache-dir", default="/tmp/odet_cn/cache")
    t.add_argument("--train-seeds", default="1-8", help="e.g. 1-8 or 1,2,5 (never >= 9000)")
    t.add_argument("--per-seed", type=int, default=1000)
    t.add_argument("--size-range", type=int, nargs=2, default=(192, 512))


def add_run_args(t, eval_every=10.0, jobs=1):
    """Held-out monitoring, logging, threads, loader / render processes,
    seed."""
    t.add_argument("--eval-seed", type=int, default=9001)
    t.add_argument("--eval-count", type=int, default=300)
    t.add_argument("--eval-every", type=float, default=eval_every, help="minutes (0: never)")
    t.add_argument("--log-every", type=float, default=30.0, help="seconds")
    t.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is several times faster than 2 on a busy 2-core machine)")
    t.add_argument("--workers", type=int, default=1, help="data loader processes")
    t.add_argument("--jobs", type=int, default=jobs, help="rendering processes (cache misses)")
    t.add_argument("--seed", type=int, default=0)


def worker_rng(seed, *salt):
    """Start of a batch stream's __iter__: one thread for torch and OpenCV in
    the loader process, and a generator of its own per loader worker."""
    import cv2
    info = torch.utils.data.get_worker_info()
    wid = info.id if info else 0
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    return np.random.default_rng([seed, wid, *salt])


class LoopBook:
    """Bookkeeping of a training loop: exponentially smoothed losses, and
    when to log (every --log-every seconds and the first 3 iterations),
    checkpoint (every 5 minutes) and check the held-out images (every
    --eval-every minutes)."""

    CHECKPOINT_SECONDS = 300

    def __init__(self, a, decay):
        self.a, self.decay, self.sm = a, decay, None
        self.t_start = time.time()
        self.last_log = self.last_ck = self.last_eval = self.t_start

    def update(self, cur):
        """Fold one iteration's losses into the smoothed ones; returns them."""
        d = self.decay
        self.sm = cur if self.sm is None else {k: d * self.sm[k] + (1 - d) * cur[k] for k in cur}
        return self.sm

    def due(self, it):
        """(log, checkpoint, evaluate) after iteration `it`; log and
        checkpoint count as done, evaluate when evaluated() is called."""
        a, now = self.a, time.time()
        do_log = now - self.last_log >= a.log_every or it <= 3
        do_ck = now - self.last_ck >= self.CHECKPOINT_SECONDS
        do_eval = bool(a.eval_every) and now - self.last_eval >= a.eval_every * 60
        if do_log:
            self.last_log = now
        if do_ck:
            self.last_ck = now
        return do_log, do_ck, do_eval

    def evaluated(self):
        self.last_eval = time.time()

    def speed(self, it):
        """(images per second, seconds since the start)."""
        el = time.time() - self.t_start
        return it * self.a.batch / max(el, 1e-9), el
