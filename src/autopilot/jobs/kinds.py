"""Job kinds: what the engine can run, by name, and the stages each passes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autopilot.errors import ConfigError

if TYPE_CHECKING:
    from autopilot.jobs.context import JobContext

JobFunction = Callable[["JobContext"], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Stage:
    """A named part of a run and the longest it may take, whatever heartbeats say."""

    name: str
    timeout_seconds: float


@dataclass(frozen=True)
class JobKind:
    """A runnable kind of job; a claim puts it in its first stage."""

    name: str
    run: JobFunction
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError(f"job kind {self.name} declares no stages")

    @property
    def first_stage(self) -> Stage:
        return self.stages[0]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        known = ", ".join(s.name for s in self.stages)
        raise ValueError(f"job kind {self.name} has no stage {name!r} ({known})")


class KindRegistry:
    """The job kinds a worker can run."""

    def __init__(self, kinds: Iterable[JobKind] = ()) -> None:
        self._kinds: dict[str, JobKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: JobKind) -> None:
        self._kinds[kind.name] = kind

    def get(self, name: str) -> JobKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise ConfigError(
                f"Unknown job kind {name!r}; known kinds: {', '.join(self.names())}."
            ) from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def __iter__(self) -> Any:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds
