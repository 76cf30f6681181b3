"""Model identifiers, parsed and formatted here and nowhere else.

  `tracr:<case>`                       the tracr-compiled model of a case (e.g. `tracr:3`)
  `siit:<task>[:<run-id>]`             a SIIT-trained model of a task (no run id: its default run):
                                       a tracr case id, or a named task (`siit:ioi`)
  `compressed:<case>[:d<width>]`       a compiled model with a compressed residual stream
                                       (no width: the case's chosen one)
  `algzoo:<task>:<arch>:h<hidden>:n<len>[:s<seed>]`  an AlgZoo-style tiny model
  `file:<path>`                        a TransformerLens HookedTransformer saved to a local file

Ids travel as text (in result files, the store, the CLI); code that needs their parts parses them
into a `ModelId` and reads its fields.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from circuits_benchmark.errors import BenchmarkError

# Kinds whose first part is a case id of the case library (for siit, where it is a number).
CASE_KINDS = ("tracr", "siit", "compressed")


@dataclasses.dataclass(frozen=True)
class ModelId:
    """A parsed model identifier: its kind and the parts after it."""

    kind: str
    parts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "ModelId":
        """Parses `kind:part:...`; raises BenchmarkError for an empty kind or a malformed case id."""
        kind, _, rest = str(text).partition(":")
        if not kind:
            raise BenchmarkError(f"malformed model id {text!r}: expected <kind>:..., e.g. tracr:3")
        if kind == "file":  # a path may hold colons of its own
            if not rest:
                raise BenchmarkError(f"malformed model id {text!r}: use file:<path of a saved HookedTransformer>")
            return cls(kind, (rest,))
        model_id = cls(kind, tuple(rest.split(":")) if rest else ())
        if kind == "tracr" and (len(model_id.parts) != 1 or not model_id.parts[0].isdigit()):
            raise BenchmarkError(f"malformed tracr model id {text!r}: use tracr:<case id>")
        if kind == "siit" and (not 1 <= len(model_id.parts) <= 2 or not all(model_id.parts)):
            raise BenchmarkError(f"malformed model id {text!r}: use siit:<task>[:<run-id>], the task a case id or a name (siit:ioi)")
        parts = model_id.parts
        if kind == "compressed" and not (
            1 <= len(parts) <= 2 and parts[0].isdigit() and (len(parts) == 1 or (parts[1][:1] == "d" and parts[1][1:].isdigit()))
        ):
            raise BenchmarkError(f"malformed model id {text!r}: use compressed:<case>[:d<width>]")
        return model_id

    @classmethod
    def tracr(cls, case_id: int) -> "ModelId":
        return cls("tracr", (str(case_id),))

    @classmethod
    def siit(cls, case: int | str, run_id: str | None = None) -> "ModelId":
        """`siit:<task>[:<run-id>]`: a tracr case id or a named task."""
        return cls("siit", (str(case),) + ((run_id,) if run_id else ()))

    @classmethod
    def compressed(cls, case_id: int, width: int | None = None) -> "ModelId":
        return cls("compressed", (str(case_id),) + ((f"d{width}",) if width else ()))

    def __str__(self) -> str:
        return ":".join((self.kind, *self.parts))

    @property
    def case_id(self) -> int | None:
        """The tracr case of a tracr, siit or compressed model; None for other kinds and for a
        named SIIT task."""
        return int(self.parts[0]) if self.kind in CASE_KINDS and self.parts[0].isdigit() else None

    @property
    def case(self) -> int | str | None:
        """A siit model's task: `case_id`, or the task's name (`siit:ioi` -> "ioi")."""
        return self.parts[0] if self.kind == "siit" and self.case_id is None else self.case_id

    @property
    def run_id(self) -> str | None:
        """A siit model's run id, None when the id leaves it to the default run."""
        return self.parts[1] if self.kind == "siit" and len(self.parts) == 2 else None

    @property
    def width(self) -> int | None:
        """A compressed model's residual width, None when the id leaves it to the case's choice."""
        return int(self.parts[1][1:]) if self.kind == "compressed" and len(self.parts) == 2 else None

    def folders(self) -> tuple[str, str]:
        """(group folder, model folder) under which results about this model are written:
        `case-003`, `siit-<run>` for case models; `files`, the file's stem for a file;
        `<kind>-<first part>`, the rest for others."""
        if self.case_id is not None:
            return f"case-{self.case_id:03d}", "-".join([self.kind, *self.parts[1:]])
        if self.kind == "file":
            return "files", Path(self.parts[0]).stem
        return f"{self.kind}-{self.parts[0] if self.parts else ''}", "-".join(self.parts[1:]) or self.kind

    def display_name(self) -> str:
        """How a model is named in tables: `case 3` for a compiled model, the id otherwise."""
        return f"case {self.case_id}" if self.kind == "tracr" else str(self)

    def same_model_as(self, other: "ModelId") -> bool:
        """Whether two ids name the same model up to the run (`siit:3` and `siit:3:<run>`)."""
        return (self.kind, self.parts[:1]) == (other.kind, other.parts[:1])
