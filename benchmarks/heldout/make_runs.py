"""Train a held-out set of small real runs under healthy and faulty LR settings, labelled like the corpus.

Follows ``../shared/corpus/README.md``: families (one task, one seed) with a healthy twin ``H`` and variants
that change a few settings to provoke a fault; intended modes must pass a strict confirm check, modes that
were not intended must stay silent under a loose exclude check (grey-zone runs are dropped); overfitting and
plateau are added when their strict check passes unintended. Logs are written in the four corpus formats
(TensorBoard, Lightning metrics.csv, W&B panel CSVs, HF trainer_state.json) with labels.json.

Needs torch and scikit-learn (not project dependencies)::

    .venv/bin/python benchmarks/heldout/make_runs.py /work/heldout --seed 7
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

torch.set_num_threads(1)

MODES = ("diverged", "oscillating", "spikes", "lr_too_low", "plateau", "no_warmup", "decayed_too_early", "overfitting")


# ----------------------------------------------------------------------------------------------- tasks
@dataclass
class Task:
    name: str
    x_tr: torch.Tensor
    y_tr: torch.Tensor
    x_va: torch.Tensor
    y_va: torch.Tensor
    make_model: object
    regression: bool = False
    seq: bool = False
    description: str = ""


def _tabular(name: str, x: np.ndarray, y: np.ndarray, seed: int, regression: bool, hidden: tuple[int, ...], desc: str):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, random_state=seed)
    sc = StandardScaler().fit(xtr)
    xtr, xva = sc.transform(xtr), sc.transform(xva)
    if regression:
        m, s = ytr.mean(), ytr.std()
        ytr, yva = (ytr - m) / s, (yva - m) / s
    n_out = 1 if regression else int(y.max()) + 1
    n_in = x.shape[1]

    def make_model(dropout: float) -> nn.Module:
        layers: list[nn.Module] = []
        d = n_in
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, n_out))
        return nn.Sequential(*layers)

    ty = torch.float32 if regression else torch.long
    return Task(name, torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr, dtype=ty),
                torch.tensor(xva, dtype=torch.float32), torch.tensor(yva, dtype=ty), make_model, regression,
                description=desc)


class _Cnn(nn.Module):
    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                                 nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(dropout), nn.Linear(32 * 16, 64), nn.ReLU(),
                                 nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.view(-1, 1, 8, 8))


class _CharModel(nn.Module):
    def __init__(self, vocab: int, d: int = 64, ctx: int = 64) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(ctx, d))
        layer = nn.TransformerEncoderLayer(d, 4, 128, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(ctx))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.emb(x) + self.pos[: x.shape[1]]
        return self.out(self.enc(h, mask=self.mask[: x.shape[1], : x.shape[1]], is_causal=True))


def _char_task(seed: int) -> Task:
    import sysconfig

    src = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((src / f).read_text(errors="replace") for f in ("argparse.py", "textwrap.py", "fractions.py"))
    chars = sorted(set(text))
    idx = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([idx[c] for c in text], dtype=torch.long)
    cut = int(len(data) * 0.9)
    g = torch.Generator().manual_seed(seed)
    ctx = 64
    starts = torch.randint(0, cut - ctx - 1, (6000,), generator=g)
    x_tr = torch.stack([data[s: s + ctx] for s in starts])
    y_tr = torch.stack([data[s + 1: s + ctx + 1] for s in starts])
    vs = torch.randint(cut, len(data) - ctx - 1, (128,), generator=g)
    x_va = torch.stack([data[s: s + ctx] for s in vs])
    y_va = torch.stack([data[s + 1: s + ctx + 1] for s in vs])
    return Task("char_transformer", x_tr, y_tr, x_va, y_va, lambda dropout: _CharModel(len(chars)), seq=True,
                description="2-layer causal transformer (d=64) on Python stdlib source, char level")


def make_task(name: str, seed: int) -> Task:
    from sklearn import datasets

    if name == "digits_mlp":
        d = datasets.load_digits()
        return _tabular(name, d.data, d.target, seed, False, (128, 128), "MLP 64-128-128-10 on sklearn digits (8x8)")
    if name == "digits_cnn":
        d = datasets.load_digits()
        t = _tabular(name, d.data, d.target, seed, False, (), "small CNN on sklearn digits (8x8)")
        t.make_model = _Cnn
        return t
    if name == "breast_cancer_mlp":
        d = datasets.load_breast_cancer()
        return _tabular(name, d.data, d.target, seed, False, (64, 64), "MLP 30-64-64-2 on breast cancer")
    if name == "diabetes_mlp":
        d = datasets.load_diabetes()
        return _tabular(name, d.data, d.target, seed, True, (64, 64), "MLP 10-64-64-1 regression on diabetes")
    if name == "synth_clf_mlp":
        x, y = datasets.make_classification(n_samples=60000, n_features=40, n_informative=20, n_classes=6,
                                            flip_y=0.05, random_state=seed)
        return _tabular(name, x, y, seed, False, (256, 256), "MLP 40-256-256-6 on make_classification")
    if name == "char_transformer":
        return _char_task(seed)
    raise ValueError(name)


# ----------------------------------------------------------------------------------------------- schedules
def lr_factor(s: dict, t: int, total: int) -> float:
    """Multiplier of the peak LR at 0-based step t."""
    name = s["name"]
    w = s.get("warmup_steps", 0)
    if w and t < w:
        return (t + 1) / w
    if name in ("constant", "warmup_constant"):
        return 1.0
    if name in ("cosine", "warmup_cosine"):
        span = s.get("decay_steps", total) - w
        p = min(1.0, (t - w) / max(span, 1))
        return 0.5 * (1 + math.cos(math.pi * p))
    if name == "exponential":
        return s["gamma"] ** t
    if name == "step":
        return s["gamma"] ** sum(t >= m for m in s["milestones"])
    if name == "onecycle":
        up = int(s["pct_start"] * total)
        if t < up:
            return 0.04 + 0.96 * 0.5 * (1 - math.cos(math.pi * t / up))
        p = (t - up) / max(total - up, 1)
        return 1e-4 + (1 - 1e-4) * 0.5 * (1 + math.cos(math.pi * p))
    if name == "wsd":
        d = s["decay_steps"]
        return 1.0 if t < total - d else max(0.0, (total - t) / d)
    raise ValueError(name)


def has_warmup(s: dict) -> bool:
    return bool(s.get("warmup_steps")) or s["name"] == "onecycle"


def is_constant(s: dict) -> bool:
    return s["name"] in ("constant", "warmup_constant")


# ----------------------------------------------------------------------------------------------- training
@dataclass
class Config:
    task: str
    optimizer: str
    peak_lr: float
    schedule: dict
    steps: int
    batch_size: int
    dropout: float = 0.0
    weight_decay: float = 0.0
    val_every: int = 25

    def key(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass
class Record:
    cfg: Config
    loss: np.ndarray
    lr: np.ndarray
    grad_norm: np.ndarray
    val_steps: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray | None
    wall: np.ndarray
    extra: dict = field(default_factory=dict)


def _optim(cfg: Config, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "SGD":
        return torch.optim.SGD(params, lr=cfg.peak_lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "Adam":
        return torch.optim.Adam(params, lr=cfg.peak_lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.peak_lr, weight_decay=cfg.weight_decay)


def train(task: Task, cfg: Config, seed: int) -> Record:
    torch.manual_seed(seed)
    model = task.make_model(cfg.dropout)
    opt = _optim(cfg, model.parameters())
    lossf = nn.MSELoss() if task.regression else nn.CrossEntropyLoss()
    n = len(task.x_tr)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    pos = 0
    T = cfg.steps
    loss_a, lr_a, gn_a, wall = np.empty(T), np.empty(T), np.empty(T), np.empty(T)
    vs, vl, va = [], [], []

    def fwd(x, y):
        out = model(x)
        if task.regression:
            return lossf(out.squeeze(-1), y), None
        if task.seq:
            return lossf(out.reshape(-1, out.shape[-1]), y.reshape(-1)), (out.argmax(-1) == y).float().mean().item()
        return lossf(out, y), (out.argmax(-1) == y).float().mean().item()

    for t in range(T):
        lr = cfg.peak_lr * lr_factor(cfg.schedule, t, T)
        for pg in opt.param_groups:
            pg["lr"] = lr
        if pos + cfg.batch_size > n:
            order, pos = torch.randperm(n, generator=g), 0
        b = order[pos: pos + cfg.batch_size]
        pos += cfg.batch_size
        model.train()
        loss, _ = fwd(task.x_tr[b], task.y_tr[b])
        opt.zero_grad()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        opt.step()
        loss_a[t], lr_a[t], gn_a[t] = loss.item(), lr, gn.item()
        if (t + 1) % cfg.val_every == 0:
            model.eval()
            with torch.no_grad():
                vloss, vacc = fwd(task.x_va, task.y_va)
            vs.append(t)
            vl.append(vloss.item())
            va.append(vacc)
        wall[t] = time.time()
    return Record(cfg, loss_a, lr_a, gn_a, np.array(vs), np.array(vl),
                  None if task.regression else np.array(va, dtype=float), wall)


# ----------------------------------------------------------------------------------------------- label checks
def _med(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("inf")


def level(loss: np.ndarray, frac: float) -> float:
    """Median loss in a window (5% of the run, >= 10 steps) ending at fraction ``frac``."""
    T = len(loss)
    w = max(10, T // 20)
    end = max(w, min(T, int(round(frac * T))))
    return _med(loss[end - w: end])


def roll_med(loss: np.ndarray, k: int) -> np.ndarray:
    return pd.Series(loss).rolling(k, min_periods=1).median().to_numpy()


def roughness(loss: np.ndarray) -> float:
    """2nd-half median over 25-step windows of std(loss) / L0."""
    h = loss[len(loss) // 2:]
    w = [np.std(h[i: i + 25]) for i in range(0, len(h) - 24, 25)]
    w = [x for x in w if np.isfinite(x)]
    return float(np.median(w) / loss[0]) if w else float("inf")


def progress_frac_last(loss: np.ndarray, frac: float) -> float:
    """Fraction of the run's progress made in the last ``frac`` of steps."""
    L0, end = loss[0], level(loss, 1.0)
    tot = L0 - end
    if tot <= 0:
        return 0.0
    return (level(loss, 1 - frac) - end) / tot


def diverged(loss: np.ndarray) -> int | None:
    L0 = loss[0]
    bad = ~np.isfinite(loss) | (loss >= 10 * L0)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    rm = pd.Series(np.where(np.isfinite(loss), loss, 1e30)).rolling(21, min_periods=1).median().to_numpy()
    return i if np.all(rm[i:] >= 0.9 * L0) else None


def loose_diverged(loss: np.ndarray) -> bool:
    L0 = loss[0]
    rm = roll_med(np.where(np.isfinite(loss), loss, 1e30), 21)
    return bool((~np.isfinite(loss)).any() or (rm >= 3 * L0).any())


def spike_events(loss: np.ndarray, ratio: float, excess: float) -> list[int]:
    L0 = loss[0]
    r3 = roll_med(loss, 3)
    prev = pd.Series(r3).shift(1).rolling(25, min_periods=10).median().to_numpy()
    out, t, T = [], 0, len(loss)
    while t < T:
        m = prev[t]
        if np.isfinite(m) and r3[t] >= ratio * m and r3[t] - m >= excess * L0:
            back = np.nonzero(r3[t + 1: t + 61] <= m + 0.5 * (r3[t] - m))[0]
            if len(back):
                out.append(t)
                t += int(back[0]) + 1
                continue
        t += 1
    return out


def early_rise(loss: np.ndarray) -> float:
    T = len(loss)
    w = max(40, int(0.12 * T))
    r3 = roll_med(loss[:w], 3)
    best = np.minimum.accumulate(r3)
    return float(np.nanmax(r3 - best) / loss[0])


def lr_low_from(lr: np.ndarray) -> int | None:
    low = lr <= 0.02 * lr.max()
    if not low[-1]:
        return None
    above = np.nonzero(~low)[0]
    return int(above[-1]) + 1 if len(above) else 0


def overfit_stats(rec: Record) -> dict | None:
    v, s = rec.val_loss, rec.val_steps
    if len(v) < 6 or not np.all(np.isfinite(v)):
        return None
    T = rec.cfg.steps
    b = int(np.argmin(v))
    best = v[b]
    final = float(pd.Series(v).rolling(3, min_periods=1).median().iloc[-1])
    lastq = v[s >= 0.75 * T]
    w = max(10, T // 20)
    tr_best = _med(rec.loss[max(0, s[b] - w // 2): s[b] + w // 2 + 1])
    return {"best_step": int(s[b]), "best_frac": s[b] / T, "final_ratio": final / best,
            "min_lastq_ratio": float(lastq.min() / best) if len(lastq) else 0.0,
            "train_ratio": level(rec.loss, 1.0) / tr_best}


def check(mode: str, rec: Record, twin: Record, strict: bool) -> tuple[bool, dict]:
    """Confirm (strict) or exclude (loose) check of one mode, with the statistics it used."""
    loss = rec.loss
    L0 = loss[0]
    T = len(loss)
    if mode == "diverged":
        d = diverged(loss)
        if strict:
            return d is not None and diverged(twin.loss) is None, {"diverged_at": d}
        return loose_diverged(loss), {}
    if loose_diverged(loss) or diverged(loss) is not None:
        return False, {}  # a blown-up run is judged by the diverged rule alone
    if mode == "oscillating":
        r, rt = roughness(loss), roughness(twin.loss)
        h = loss[T // 2:]
        start, end = level(loss, 0.5 + 0.1), level(loss, 1.0)
        drop = (start - end) / start if start > 0 else 0.0
        tf = level(twin.loss, 1.0)
        prog = twin.loss[0] - tf
        fin = level(loss, 1.0)
        st = {"roughness": r, "twin_roughness": rt, "drop": drop}
        del h
        if strict:
            return r >= 0.055 and r >= 1.8 * rt and drop < 0.15 and fin >= tf + 0.15 * prog, st
        return r >= 0.04 and r >= 1.4 * rt and fin >= tf + 0.08 * prog, st
    if mode == "spikes":
        if strict:
            ev = spike_events(loss, 2.0, 0.25)
            return len(ev) >= 2 and not spike_events(twin.loss, 1.6, 0.15), {"spike_steps": ev}
        return len(spike_events(loss, 1.6, 0.15)) >= 1, {}
    if mode == "lr_too_low":
        fin = level(loss, 1.0)
        lastq = (level(loss, 0.75) - fin) / L0
        p40 = progress_frac_last(loss, 0.4)
        if strict:
            return fin > level(twin.loss, 0.3) and lastq >= 0.015 and p40 >= 0.08, {"p40": p40}
        return fin > level(twin.loss, 0.5) and lastq >= 0.01 and p40 >= 0.05, {"p40": p40}
    if mode == "plateau":
        if not is_constant(rec.cfg.schedule):
            return False, {}
        p40 = progress_frac_last(loss, 0.4)
        fin, tf = level(loss, 1.0), level(twin.loss, 1.0)
        tprog = twin.loss[0] - tf
        r = roughness(loss)
        if strict:
            return p40 <= 0.05 and (tf <= 0.8 * fin or fin - tf >= 0.1 * tprog) and r <= 0.05, {"p40": p40}
        # a bouncing run (oscillating's strict roughness and above) is not a flat one
        return p40 <= 0.08 and (tf <= 0.9 * fin or fin - tf >= 0.05 * tprog) and r < 0.055, {"p40": p40}
    if mode == "no_warmup":
        if has_warmup(rec.cfg.schedule):
            return False, {}
        rise, trise = early_rise(loss), early_rise(twin.loss)
        if strict:
            return rise >= 0.3 and trise < 0.25 and trise <= rise / 4, {"rise": rise, "twin_rise": trise,
                                                                        "window": max(40, int(0.12 * T))}
        return rise >= 0.15, {}
    if mode == "decayed_too_early":
        s = lr_low_from(rec.lr)
        if s is None:
            return False, {}
        before = (level(loss, max(s / T - 0.2, 0.05)) - level(loss, max(s / T, 0.05))) / L0
        after = (level(loss, max(s / T, 0.05)) - level(loss, 1.0)) / L0
        fin, tf = level(loss, 1.0), level(twin.loss, 1.0)
        tprog = twin.loss[0] - tf
        st = {"lr_low_from": s}
        if strict:
            return (s < 0.5 * T and before >= 0.02 and after < 0.03
                    and (tf <= 0.75 * fin or fin - tf >= 0.1 * tprog)), st
        return s < 0.7 * T and after < 0.05 and (tf <= 0.85 * fin or fin - tf >= 0.05 * tprog), st
    if mode == "overfitting":
        o, ot = overfit_stats(rec), overfit_stats(twin)
        if o is None:
            return False, {}
        twin_ok = ot is None or ot["final_ratio"] < 1.06
        if strict:
            return (o["best_frac"] < 0.6 and o["final_ratio"] >= 1.15 and o["min_lastq_ratio"] >= 1.08
                    and o["train_ratio"] <= 0.8 and twin_ok), {"best_val_step": o["best_step"]}
        return (o["best_frac"] < 0.8 and o["final_ratio"] >= 1.10 and o["min_lastq_ratio"] >= 1.04
                and o["train_ratio"] <= 0.9), {}
    raise ValueError(mode)


# ----------------------------------------------------------------------------------------------- writers
SERIES_FLAVOURS = {
    "tensorboard": [
        {"train_loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm", "val_loss": "val/loss",
         "val_acc": "val/acc"},
        {"train_loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm", "val_loss": "val_loss",
         "val_acc": "val_accuracy"},
        {"train_loss": "Loss/train", "lr": "LearningRate", "grad_norm": "GradNorm/total", "val_loss": "Loss/val",
         "val_acc": "Accuracy/val"},
    ],
    "wandb_csv": [
        {"train_loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm", "val_loss": "val/loss",
         "val_acc": "val/acc"},
        {"train_loss": "loss", "lr": "learning_rate", "val_loss": "eval/loss"},
        {"train_loss": "train_loss", "lr": "lr", "grad_norm": "grad_norm", "val_loss": "val_loss"},
    ],
}


def _series(rec: Record) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    steps = np.arange(rec.cfg.steps)
    out = {"train_loss": (steps, rec.loss), "lr": (steps, rec.lr), "grad_norm": (steps, rec.grad_norm),
           "val_loss": (rec.val_steps, rec.val_loss)}
    if rec.val_acc is not None:
        out["val_acc"] = (rec.val_steps, rec.val_acc)
    return out


def write_tensorboard(d: Path, rec: Record, flavour: int) -> tuple[dict, list[str]]:
    from torch.utils.tensorboard import SummaryWriter

    names = SERIES_FLAVOURS["tensorboard"][flavour]
    ser = _series(rec)
    w = SummaryWriter(str(d))
    vwall = {int(s): rec.wall[int(s)] for s in rec.val_steps}
    for key, (st, val) in ser.items():
        if key not in names:
            continue
        for s, v in zip(st, val):
            wt = vwall[int(s)] if key.startswith("val") else rec.wall[int(s)]
            w.add_scalar(names[key], float(v), int(s), walltime=float(wt), new_style=flavour == 1)
    w.close()
    return {k: v for k, v in names.items() if k in ser}, [p.name for p in d.iterdir() if "tfevents" in p.name]


def write_lightning(d: Path, rec: Record) -> tuple[dict, list[str]]:
    vd = d / "lightning_logs" / "version_0"
    vd.mkdir(parents=True)
    opt = rec.cfg.optimizer
    lrcol = f"lr-{opt}"
    cols = ["epoch", "grad_2.0_norm_total", lrcol] + (["lr-SGD-momentum"] if opt == "SGD" else [])
    cols += ["step", "train_loss"] + (["val_acc"] if rec.val_acc is not None else []) + ["val_loss"]
    n_tr = len(rec.cfg.__dict__) and rec.extra["n_train"]
    spe = max(1, n_tr // rec.cfg.batch_size)
    vmap = {int(s): i for i, s in enumerate(rec.val_steps)}
    with open(vd / "metrics.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=cols)
        wr.writeheader()
        for t in range(rec.cfg.steps):
            row = {lrcol: repr(float(rec.lr[t])), "step": t}
            if opt == "SGD":
                row["lr-SGD-momentum"] = 0.9
            wr.writerow(row)
            wr.writerow({"epoch": t // spe, "grad_2.0_norm_total": repr(float(rec.grad_norm[t])), "step": t,
                         "train_loss": repr(float(rec.loss[t]))})
            if t in vmap:
                i = vmap[t]
                row = {"epoch": t // spe, "step": t, "val_loss": repr(float(rec.val_loss[i]))}
                if rec.val_acc is not None:
                    row["val_acc"] = repr(float(rec.val_acc[i]))
                wr.writerow(row)
    (vd / "hparams.yaml").write_text(
        f"lr: {rec.cfg.peak_lr}\noptimizer: {opt}\nbatch_size: {rec.cfg.batch_size}\n"
        f"max_steps: {rec.cfg.steps}\nseed: {rec.extra['seed']}\nweight_decay: {rec.cfg.weight_decay}\n")
    series = {"train_loss": "train_loss", "lr": lrcol, "grad_norm": "grad_2.0_norm_total", "val_loss": "val_loss"}
    if rec.val_acc is not None:
        series["val_acc"] = "val_acc"
    return series, ["lightning_logs/version_0/metrics.csv", "lightning_logs/version_0/hparams.yaml"]


def _wnum(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(float(v))


def write_wandb(d: Path, rec: Record, flavour: int, rng: random.Random) -> tuple[dict, list[str]]:
    names = SERIES_FLAVOURS["wandb_csv"][flavour]
    run_name = f"{rng.choice(['lunar', 'gentle', 'misty', 'brisk', 'royal'])}-{rng.choice(['cloud', 'river', 'sun', 'wave'])}-{rng.randint(100, 999)}"
    files = []
    t0 = time.time()
    for i, (key, (st, val)) in enumerate(_series(rec).items()):
        if key not in names:
            continue
        col = f"{run_name} - {names[key]}"
        k = max(1, math.ceil(len(st) / 1000)) if len(st) > 1000 else 1
        stamp = time.strftime("%Y-%m-%dT%H_%M_%S", time.localtime(t0 + 7 * i)) + f".{rng.randint(100, 999)}+01_00"
        fn = f"wandb_export_{stamp}.csv"
        with open(d / fn, "w", newline="") as fh:
            wr = csv.writer(fh, quoting=csv.QUOTE_ALL)
            wr.writerow(["Step", col, col + "__MIN", col + "__MAX"])
            for j in range(0, len(st), k):
                chunk = val[j: j + k]
                if k == 1:
                    m = lo = hi = float(chunk[0])
                else:
                    with np.errstate(invalid="ignore"):
                        m, lo, hi = float(np.mean(chunk)), float(np.min(chunk)), float(np.max(chunk))
                wr.writerow([str(int(st[j])), _wnum(m), _wnum(lo), _wnum(hi)])
        files.append(fn)
    return {k: v for k, v in names.items() if k in _series(rec)}, files


def write_hf(d: Path, rec: Record) -> tuple[dict, list[str]]:
    spe = max(1, rec.extra["n_train"] // rec.cfg.batch_size)
    hist: list[dict] = []
    vmap = {int(s): i for i, s in enumerate(rec.val_steps)}
    for t in range(rec.cfg.steps):
        lv = float(rec.loss[t])
        hist.append({"epoch": round((t + 1) / spe, 4), "grad_norm": float(rec.grad_norm[t]),
                     "learning_rate": float(rec.lr[t]), "loss": round(lv, 4) if math.isfinite(lv) else lv,
                     "step": t + 1})
        if t in vmap:
            i = vmap[t]
            e = {"epoch": round((t + 1) / spe, 4)}
            if rec.val_acc is not None:
                e["eval_accuracy"] = float(rec.val_acc[i])
            e.update({"eval_loss": float(rec.val_loss[i]), "eval_runtime": 0.001, "step": t + 1})
            hist.append(e)
    wall = float(rec.wall[-1] - rec.wall[0])
    hist.append({"epoch": round(rec.cfg.steps / spe, 4), "step": rec.cfg.steps, "total_flos": 0,
                 "train_loss": float(np.nanmean(rec.loss)), "train_runtime": round(wall, 4),
                 "train_steps_per_second": round(rec.cfg.steps / max(wall, 1e-9), 3)})
    state = {"best_metric": None, "best_model_checkpoint": None, "epoch": round(rec.cfg.steps / spe, 4),
             "eval_steps": rec.cfg.val_every, "global_step": rec.cfg.steps, "is_hyper_param_search": False,
             "log_history": hist, "logging_steps": 1, "max_steps": rec.cfg.steps,
             "train_batch_size": rec.cfg.batch_size, "trial_name": None, "trial_params": None}
    (d / "trainer_state.json").write_text(json.dumps(state, indent=2))
    series = {"train_loss": "loss", "lr": "learning_rate", "grad_norm": "grad_norm", "val_loss": "eval_loss"}
    if rec.val_acc is not None:
        series["val_acc"] = "eval_accuracy"
    return series, ["trainer_state.json"]


# ----------------------------------------------------------------------------------------------- families
def families(rng: random.Random) -> list[tuple[str, int, Config, list[tuple[list[str], Config, Config | None]]]]:
    """(task, seed, healthy config, [(intended modes, config, special twin or None)])."""
    up = lambda: rng.uniform(10, 50)  # noqa: E731
    down = lambda: rng.uniform(10, 50)  # noqa: E731
    C = Config
    out = []
    s = 3100 + 100 * rng.randint(0, 50)  # seeds far from the corpus's (1011-1029)
    # digits MLP, SGD
    h = C("digits_mlp", "SGD", 0.05, {"name": "cosine"}, 800, 64, 0.1, 5e-4)
    out.append(("digits_mlp", s, h, [
        (["diverged"], C("digits_mlp", "SGD", 0.05 * up(), {"name": "cosine"}, 800, 64, 0.1, 5e-4), None),
        (["lr_too_low"], C("digits_mlp", "SGD", 0.05 / down(), {"name": "constant"}, 800, 64, 0.1, 5e-4), None),
        (["decayed_too_early"], C("digits_mlp", "SGD", 0.05, {"name": "exponential", "gamma": 0.95}, 800, 64, 0.1, 5e-4), None),
        (["decayed_too_early"], C("digits_mlp", "SGD", 0.05, {"name": "step", "milestones": [80, 160], "gamma": 0.1}, 800, 64, 0.1, 5e-4), None),
    ]))
    # digits MLP, Adam
    h = C("digits_mlp", "AdamW", 0.001, {"name": "warmup_cosine", "warmup_steps": 35}, 700, 64, 0.2, 0.05)
    out.append(("digits_mlp", s + 1, h, [
        (["lr_too_low"], C("digits_mlp", "AdamW", 0.001 / down(), {"name": "constant"}, 700, 64, 0.2, 0.05), None),
        (["overfitting"], C("digits_mlp", "Adam", 0.003, {"name": "constant"}, 1500, 64, 0.0, 0.0), None),
        (["spikes"], C("digits_mlp", "Adam", rng.choice([0.02, 0.03]), {"name": "warmup_constant", "warmup_steps": 50}, 1000, 32), None),
        (["diverged"], C("digits_mlp", "SGD", 3.0, {"name": "warmup_cosine", "warmup_steps": 140}, 700, 64, 0.2, 0.05), None),
    ]))
    # breast cancer
    h = C("breast_cancer_mlp", "AdamW", 0.001, {"name": "cosine"}, 400, 128, 0.1, 0.1)
    out.append(("breast_cancer_mlp", s + 2, h, [
        (["diverged"], C("breast_cancer_mlp", "SGD", rng.choice([4.0, 6.0]), {"name": "constant"}, 400, 128, 0.1, 0.1), None),
        (["lr_too_low"], C("breast_cancer_mlp", "AdamW", 0.001 / down(), {"name": "constant"}, 400, 128, 0.1, 0.1), None),
        (["overfitting"], C("breast_cancer_mlp", "Adam", 0.001, {"name": "constant"}, 1500, 128), None),
        (["spikes"], C("breast_cancer_mlp", "Adam", 0.03, {"name": "warmup_constant", "warmup_steps": 50}, 1000, 16), None),
    ]))
    # diabetes
    h = C("diabetes_mlp", "AdamW", 0.001, {"name": "warmup_cosine", "warmup_steps": 20}, 400, 128, 0.2, 0.1)
    out.append(("diabetes_mlp", s + 3, h, [
        (["diverged"], C("diabetes_mlp", "SGD", 0.4, {"name": "constant"}, 400, 128, 0.2, 0.1), None),
        (["oscillating"], C("diabetes_mlp", "SGD", rng.choice([0.12, 0.15]), {"name": "warmup_constant", "warmup_steps": 20}, 400, 32, 0.2), None),
        (["overfitting"], C("diabetes_mlp", "Adam", 0.003, {"name": "constant"}, 1200, 128), None),
        (["lr_too_low"], C("diabetes_mlp", "AdamW", 0.001 / down(), {"name": "constant"}, 400, 128, 0.2, 0.1), None),
    ]))
    # digits CNN
    h = C("digits_cnn", "Adam", 0.001, {"name": "cosine"}, 600, 32, 0.0, 1e-4)
    out.append(("digits_cnn", s + 4, h, [
        (["lr_too_low"], C("digits_cnn", "Adam", 0.001 / down(), {"name": "constant"}, 600, 32, 0.0, 1e-4), None),
        (["decayed_too_early"], C("digits_cnn", "Adam", 0.001, {"name": "cosine", "decay_steps": 90}, 600, 32, 0.0, 1e-4), None),
        (["spikes"], C("digits_cnn", "Adam", 0.02, {"name": "warmup_constant", "warmup_steps": 30}, 600, 32), None),
    ]))
    # synthetic classification, SGD and Adam
    # the synthetic task's H warms up: at this data size its cold cosine start already bounces
    h = C("synth_clf_mlp", "SGD", 0.1, {"name": "warmup_cosine", "warmup_steps": 75}, 1500, 128)
    out.append(("synth_clf_mlp", s + 5, h, [
        (["lr_too_low"], C("synth_clf_mlp", "SGD", 0.1 / down(), {"name": "constant"}, 1500, 128), None),
        (["oscillating"], C("synth_clf_mlp", "SGD", rng.choice([0.3, 0.4]), {"name": "warmup_constant", "warmup_steps": 75}, 1500, 128), None),
        (["decayed_too_early"], C("synth_clf_mlp", "SGD", 0.1, {"name": "step", "milestones": [150, 300], "gamma": 0.1}, 1500, 128), None),
    ]))
    h = C("synth_clf_mlp", "Adam", 0.02, {"name": "warmup_cosine", "warmup_steps": 75}, 1500, 256)
    out.append(("synth_clf_mlp", s + 6, h, [
        (["plateau"], C("synth_clf_mlp", "Adam", 0.02, {"name": "constant"}, 1500, 256), None),
        (["oscillating"], C("synth_clf_mlp", "Adam", 0.06, {"name": "warmup_constant", "warmup_steps": 75}, 1500, 256), None),
        (["decayed_too_early"], C("synth_clf_mlp", "Adam", 0.02, {"name": "cosine", "decay_steps": 300}, 1500, 256), None),
        (["lr_too_low"], C("synth_clf_mlp", "Adam", 0.02 / down() / 5, {"name": "constant"}, 1500, 256), None),
    ]))
    # char transformer (two families)
    for k in range(2):
        peak = rng.choice([0.1, 0.12, 0.15])
        h = C("char_transformer", "AdamW", 0.003, {"name": "warmup_cosine", "warmup_steps": 50}, 500, 16, 0.0, 0.01)
        wt = C("char_transformer", "AdamW", peak, {"name": "warmup_cosine", "warmup_steps": 75}, 500, 16, 0.0, 0.01)
        out.append(("char_transformer", s + 7 + k, h, [
            (["lr_too_low"], C("char_transformer", "AdamW", 0.003 / down() * 2, {"name": "constant"}, 500, 16, 0.0, 0.01), None),
            (["no_warmup"], C("char_transformer", "AdamW", peak, {"name": "cosine"}, 500, 16, 0.0, 0.01), wt),
            (["decayed_too_early"], C("char_transformer", "AdamW", 0.003, {"name": "exponential", "gamma": 0.965}, 500, 16, 0.0, 0.01), None),
            (["decayed_too_early"] if k else [], C("char_transformer", "AdamW", 0.003, {"name": "step", "milestones": [50, 100], "gamma": 0.1} if k else {"name": "onecycle", "pct_start": 0.25}, 500, 16, 0.0, 0.01), None),
        ]))
    # extra healthy schedules (no fault) in the SGD digits family
    out.append(("digits_mlp", s, C("digits_mlp", "SGD", 0.05, {"name": "cosine"}, 800, 64, 0.1, 5e-4), [
        ([], C("digits_mlp", "SGD", 0.05, {"name": "step", "milestones": [400, 640], "gamma": 0.2}, 800, 64, 0.1, 5e-4), None),
        ([], C("digits_mlp", "SGD", 0.05, {"name": "wsd", "warmup_steps": 40, "decay_steps": 160}, 800, 64, 0.1, 5e-4), None),
    ]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tasks", default="", help="comma-separated tasks to train (default: all)")
    ap.add_argument("--modes", default="",
                    help="comma-separated intended modes: keep only the variants that intend one of them, plus the "
                         "healthy twins H of their families and the healthy 'extra schedule' variants if 'healthy' "
                         "is listed (default: every variant)")
    args = ap.parse_args(argv)
    want = {m for m in args.modes.split(",") if m}
    bad = want - set(MODES) - {"healthy"}
    if bad:
        ap.error(f"unknown modes {sorted(bad)} (choose from {', '.join(MODES)}, healthy)")
    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "runs").mkdir(parents=True)
    t_start = time.time()
    tasks: dict[tuple[str, int], Task] = {}
    cache: dict[tuple[str, int], Record] = {}
    fmts = ["tensorboard", "lightning_csv", "wandb_csv", "hf_trainer_state"]
    fmt_i = rng.randrange(4)
    kept, dropped, index = 0, [], []
    written: set[tuple[str, int]] = set()  # a config listed in two families is written once

    def run(cfg: Config, seed: int) -> Record:
        key = (cfg.key(), seed)
        if key not in cache:
            tk = (cfg.task, seed)
            if tk not in tasks:
                tasks[tk] = make_task(cfg.task, seed)
            rec = train(tasks[tk], cfg, seed)
            rec.extra = {"n_train": len(tasks[tk].x_tr), "seed": seed, "desc": tasks[tk].description}
            cache[key] = rec
        return cache[key]

    only = {t for t in args.tasks.split(",") if t}
    for task, seed, hcfg, variants in families(rng):
        if only and task not in only:
            continue
        if want:
            # the family's rng draws already happened in families(), so filtering keeps the other configs as they are
            variants = [v for v in variants if set(v[0]) & want or (not v[0] and "healthy" in want)]
            if not variants:
                continue
        H = run(hcfg, seed)
        # the healthy twin must pass every exclude check against itself
        fired = [m for m in MODES if check(m, H, H, strict=False)[0]]
        if fired:
            dropped.append({"family": f"{task}_{seed}", "why": f"H not healthy: {fired}"})
            print(f"drop family {task}_{seed}: H fires {fired}", flush=True)
            continue
        members = [([], hcfg, None)] + variants
        for intended, cfg, special in members:
            if (cfg.key(), seed) in written:
                continue
            written.add((cfg.key(), seed))
            rec = run(cfg, seed)
            twin = run(special, seed) if special is not None else H
            modes, checks, events, ok = [], {}, {}, True
            for m in intended:
                passed, st = check(m, rec, twin, strict=True)
                checks[m] = {"passed": passed, **{k: v for k, v in st.items()}}
                if not passed:
                    ok = False
                    why = f"intended {m} failed its confirm check {st}"
                modes.append(m)
            fired_ex = []
            for m in MODES:
                if m in intended:
                    continue
                # plateau is judged against the family's decayed H (as in the corpus, where a
                # memorised constant-LR overfitting run is not a plateau: H ends higher)
                tw = H if m == "plateau" else twin
                if m in ("plateau", "overfitting") and check(m, rec, tw, strict=True)[0]:
                    modes.append(m)
                    checks[m] = {"passed": True, **check(m, rec, tw, strict=True)[1]}
                    continue
                if check(m, rec, tw, strict=False)[0]:
                    fired_ex.append(m)
            if fired_ex:
                ok, why = False, f"exclude checks fired: {fired_ex}"
            name = f"{task}-{rng.getrandbits(16):04x}"
            if not ok:
                dropped.append({"run": name, "config": cfg.__dict__, "intended": intended, "why": why})
                print(f"drop {name} {intended}: {why}", flush=True)
                continue
            fmt = fmts[fmt_i % 4]
            fmt_i += 1
            d = args.out / "runs" / name
            d.mkdir()
            base = 1 if fmt == "hf_trainer_state" else 0
            if fmt == "tensorboard":
                series, files = write_tensorboard(d, rec, rng.randrange(3))
            elif fmt == "lightning_csv":
                series, files = write_lightning(d, rec)
            elif fmt == "wandb_csv":
                series, files = write_wandb(d, rec, rng.randrange(3), rng)
            else:
                series, files = write_hf(d, rec)
            T = cfg.steps
            wasted = []
            if "diverged" in modes:
                dv = diverged(rec.loss)
                events["diverged_at_step"] = dv + base
                nf = np.nonzero(~np.isfinite(rec.loss))[0]
                events["first_nonfinite_step"] = int(nf[0]) + base if len(nf) else None
                wasted.append(T - dv)
            if "overfitting" in modes:
                b = overfit_stats(rec)["best_step"]
                events["best_val_step"] = b + base
                wasted.append(T - 1 - b)
            if "spikes" in modes:
                events["spike_steps"] = [int(x) + base for x in checks["spikes"]["spike_steps"]]
            if "decayed_too_early" in modes:
                events["lr_below_2pct_of_peak_at_step"] = lr_low_from(rec.lr) + base
            if "no_warmup" in modes:
                events["early_window"] = [base, checks["no_warmup"]["window"] + base]
            wall = float(rec.wall[-1] - rec.wall[0])
            lab = {
                "run": name, "split": "heldout", "kind": "run", "format": fmt, "files": files, "series": series,
                "step_base": base, "task": task, "task_description": rec.extra["desc"],
                "data": {"n_train": rec.extra["n_train"], "batch_size": cfg.batch_size, "dropout": cfg.dropout},
                "optimizer": {"name": cfg.optimizer, "weight_decay": cfg.weight_decay}, "schedule": cfg.schedule,
                "peak_lr": cfg.peak_lr, "steps": T, "planned_steps": T, "seed": seed, "val_every": cfg.val_every,
                "step_time_s": round(wall / T, 6), "wall_time_s": round(wall, 3),
                "modes": modes, "healthy": not modes, "intended_modes": intended, "events": events,
                "wasted_steps": max(wasted) if wasted else None, "family": f"{task}_{seed}",
                "summary": {"initial_loss": float(rec.loss[0]), "final_train_loss": float(rec.loss[-1]),
                            "best_val_loss": float(np.min(rec.val_loss)), "final_val_loss": float(rec.val_loss[-1])},
                "checks": {**checks, "exclusions": {"evaluated": [m for m in MODES if m not in intended],
                                                    "fired": []}},
            }
            (d / "labels.json").write_text(json.dumps(lab, indent=2, default=float))
            index.append({"run": name, "format": fmt, "task": task, "modes": ";".join(modes) or "healthy",
                          "peak_lr": cfg.peak_lr, "steps": T, "kind": "run", "path": f"runs/{name}"})
            kept += 1
            print(f"keep {name} [{fmt}] {modes or ['healthy']} ({time.time() - t_start:.0f} s)", flush=True)
    with open(args.out / "index.csv", "w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(index[0]))
        wr.writeheader()
        wr.writerows(index)
    (args.out / "generation_report.json").write_text(json.dumps(
        {"kept": kept, "dropped": dropped, "trainings": len(cache), "seconds": round(time.time() - t_start, 1)},
        indent=2, default=str))
    print(f"kept {kept}, dropped {len(dropped)}, {len(cache)} trainings in {time.time() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
