"""Quality gate: evaluate a freshly built index before it replaces the serving one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peruqa.config import Settings
from peruqa.errors import BuildRefusedError
from peruqa.index.embedding import Embedder
from peruqa.index.store import IndexData
from peruqa.qa.service import QAService
from peruqa.tools.evaluate import EvalItem, evaluate, load_items


@dataclass
class EvalGate:
    """Refuses the switch when the new index answers fewer questions than the current one."""

    settings: Settings
    embedder: Embedder
    items: list[EvalItem]
    force: bool = False
    new_accuracy: float | None = None
    old_accuracy: float | None = None

    @classmethod
    def from_file(
        cls, path: Path, settings: Settings, embedder: Embedder, force: bool = False
    ) -> EvalGate:
        # Read the questions first, so a bad file fails before any embedding work.
        return cls(settings, embedder, load_items(path), force)

    def accuracy(self, data: IndexData) -> float:
        service = QAService(self.settings, self.embedder)
        service.use_index(data)
        results = evaluate(service, self.items, self.settings.top_k)
        return sum(result.correct for result in results) / len(results)

    def __call__(self, new: IndexData, current: IndexData | None) -> None:
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
