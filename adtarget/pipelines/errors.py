"""The errors of a pipeline's files: each names the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file; ``line`` is 1-based, ``field`` a dotted path or ''."""

    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class PipelineError(ValueError):
    """A pipeline that cannot be built; ``problems`` lists every problem found in its files."""

    def __init__(self, pipeline: str, problems: list[Problem]) -> None:
        self.pipeline = pipeline
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"pipeline '{pipeline}' is not valid ({len(problems)} problem(s)):\n{lines}")


class BrokenPipelines(ValueError):
    """Raised by ``dags/sql_pipeline_errors.py`` so that broken pipelines show as import errors."""

    def __init__(self, errors: list[PipelineError]) -> None:
        self.errors = errors
        names = ", ".join(e.pipeline for e in errors)
        body = "\n".join(str(e) for e in errors)
        super().__init__(
            f"{len(errors)} SQL pipeline(s) not loaded: {names}; every other pipeline is loaded.\n{body}"
        )
