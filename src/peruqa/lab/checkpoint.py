"""A training run's steps and checkpoint: what it wrote last, so that a rerun resumes there.

The reader's trainers (pairwise, listwise, passage) each run one schedule over fixed
batches; a checkpoint holds the parameters training changes, the optimiser, the schedule
and torch's random state, and is only taken up by a run with the same batches (and
``key``: a seed), so that a resumed run ends where an unbroken one would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Checkpoint:
    path: Path
    network: Any
    names: set[str]  # the parameters written: those training changes
    optimiser: Any
    scheduler: Any
    batches: int
    key: dict[str, Any] = field(default_factory=dict)  # what else must match to resume

    def resume(self, report: Callable[[str], None]) -> dict[str, Any]:
        """Load a matching checkpoint into the network, optimiser and schedule; returns
        what was saved (``step`` 0 and nothing else when there is none)."""
        import torch

        if not self.path.is_file():
            return {"step": 0}
        saved: dict[str, Any] = torch.load(self.path, weights_only=False)
        if saved["batches"] != self.batches or any(saved.get(k) != v for k, v in self.key.items()):
            return {"step": 0}
        self.network.load_state_dict(saved["network"], strict=False)
        self.optimiser.load_state_dict(saved["optimiser"])
        self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        report(f"resumed at step {saved['step']} of {self.batches}")
        return saved

    def save(self, step: int, **extra: Any) -> None:
        import torch

        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {n: p for n, p in self.network.state_dict().items() if n in self.names}
        torch.save(
            {
                "network": state,
                "optimiser": self.optimiser.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "step": step,
                "batches": self.batches,
                **self.key,
                **extra,
            },
            self.path,
        )


def optimise(loss: Any, parameters: list[Any], optimiser: Any, scheduler: Any) -> float:
    """One step of every trainer: backward, gradients clipped at norm 1.0, the optimiser and
    the schedule stepped; returns the loss."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimiser.step()
    scheduler.step()
    optimiser.zero_grad()
    return float(loss.detach())


def due(done: int, total: int, every: int) -> bool:
    """Whether a run checkpoints or measures after step ``done``: every ``every`` steps
    (never when 0) and at the last."""
    return bool(every and done % every == 0) or done == total


def measure_if_due(
    network: Any,
    evaluate: Callable[[Any, int], None] | None,
    done: int,
    total: int,
    every: int,
    seen: int,
) -> None:
    """Measure mid-run when ``due``: ``evaluate(network, seen)`` with dropout off, then
    back to training."""
    if evaluate is not None and due(done, total, every):
        network.eval()
        evaluate(network, seen)
        network.train()


class Pace:
    """A run's smoothed loss and its pace since it (re)started at step ``start``."""

    def __init__(self, start: int, total: int) -> None:
        self.start, self.total = start, total
        self.loss: float | None = None
        self._started = time.perf_counter()

    def add(self, loss: float) -> None:
        self.loss = loss if self.loss is None else 0.98 * self.loss + 0.02 * loss

    def line(self, done: int, note: str = "") -> str:
        """The step, the smoothed loss, the pace and the time left."""
        per = (time.perf_counter() - self._started) / max(done - self.start, 1)
        return (
            f"step {done}/{self.total} loss {self.loss or 0.0:.3f} {note}"
            f"{per:.2f} s/batch, {per * (self.total - done) / 60:.0f} min left"
        )
