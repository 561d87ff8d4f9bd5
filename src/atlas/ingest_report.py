"""What one ingest reports, item by item: the statuses an item ends in, written once for every face (the
CLI's summary and colours, the API's outcome schema and job counts, the web page gets them from the API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from atlas.errors import AtlasError

Status = Literal["added", "replaced", "unchanged", "skipped", "failed"]
STATUSES: tuple[Status, ...] = get_args(Status)  # in the order a summary lists them


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    target: str
    status: Status
    video_id: str | None = None
    title: str | None = None
    windows: int = 0
    message: str | None = None
    # Went in, but something was fixed or left out on the way (impossible cue times, unreadable timing lines).
    warnings: tuple[str, ...] = ()


@dataclass(slots=True)
class IngestReport:
    outcomes: list[ItemOutcome] = field(default_factory=list)
    # Set when the batch stopped early (a full disk): the targets after the last outcome were not tried.
    stopped: AtlasError | None = None

    @property
    def failed(self) -> list[ItemOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)
