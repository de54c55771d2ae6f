"""Quality gate: evaluate a freshly built index before it replaces the serving one, as it
will be served (the cascade's first stage included)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peruqa.config import Settings
from peruqa.errors import BuildRefusedError
from peruqa.evaluation.evaluate import EvalItem, evaluate, load_items
from peruqa.index.data import Served
from peruqa.index.embedding import Embedder
from peruqa.qa.service import QAService


@dataclass
class EvalGate:
    """Refuses the switch when the new index answers fewer questions than the current one."""

    settings: Settings
    embedder: Embedder
    items: list[EvalItem]
    force: bool = False
    first_embedder: Embedder | None = None  # the cascade's first stage, when it has one
    new_accuracy: float | None = None
    old_accuracy: float | None = None

    @classmethod
    def from_file(
        cls,
        path: Path,
        settings: Settings,
        embedder: Embedder,
        force: bool = False,
        first_embedder: Embedder | None = None,
    ) -> EvalGate:
        # Read the questions first, so a bad file fails before any embedding work.
        return cls(settings, embedder, load_items(path), force, first_embedder)

    def accuracy(self, served: Served) -> float:
        service = QAService(self.settings, self.embedder, self.first_embedder)
        service.use_index(served.main, served.first_stage)
        results = evaluate(service, self.items, self.settings.top_k)
        return sum(result.correct for result in results) / len(results)

    def __call__(self, new: Served, current: Served | None) -> None:
        self.new_accuracy = self.accuracy(new)
        self.old_accuracy = self.accuracy(current) if current is not None else None
        if self.old_accuracy is None or self.new_accuracy >= self.old_accuracy or self.force:
            return
        raise BuildRefusedError(
            f"Quality gate: accuracy would drop from {self.old_accuracy:.3f} to "
            f"{self.new_accuracy:.3f}, so the current index was kept. Check the changed "
            "documents, or rebuild with --force to switch anyway."
        )

    def summary(self) -> str:
        if self.new_accuracy is None:
            return "Quality gate: not run."
        if self.old_accuracy is None:
            return f"Quality gate: accuracy {self.new_accuracy:.3f} (no comparable index before)."
        forced = " (forced)" if self.new_accuracy < self.old_accuracy else ""
        change = f"{self.old_accuracy:.3f} -> {self.new_accuracy:.3f}"
        return f"Quality gate: accuracy {change}{forced}."
