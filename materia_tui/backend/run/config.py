"""The campaign config (YAML), validated with pydantic; see docs/campaign-config.md.

Every mistake becomes one sentence naming the file, the line and the key::

    campaign.yaml:9: parameters.pore_size_nm: low (2.0) must be below high (0.2)

raised as ``ConfigError`` (a ``UsageError``: exit 2). Unknown keys are errors,
so a typo is never silently ignored.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from materia_tui.backend.run.evaluation import EvaluatorSpec
from materia_tui.errors import UsageError

Choice = str | int | float | bool
KeyPath = tuple[str | int, ...]
MODULE_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(UsageError):
    """A bad config: exit 2, one sentence."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RangeSpec(_Strict):
    """A numeric parameter's range: low below high, both above 0 on a log scale."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _range(self) -> Self:
        _check_range(self.low, self.high, self.log)
        return self


class ContinuousSpec(_RangeSpec):
    type: Literal["continuous"]


class IntegerSpec(_RangeSpec):
    type: Literal["integer"]
    low: int
    high: int


class CategoricalSpec(_Strict):
    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices: list[Choice]) -> list[Choice]:
        seen: set[tuple[str, Choice]] = set()
        for choice in choices:
            key = (type(choice).__name__, choice)
            if key in seen:
                raise ValueError(f"choice {choice!r} is listed twice")
            seen.add(key)
        return choices


ParameterConfig = Annotated[ContinuousSpec | IntegerSpec | CategoricalSpec, Field(discriminator="type")]


class ObjectiveConfig(_Strict):
    direction: Literal["maximize", "minimize"]
    unit: str | None = None


class ConstraintConfig(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> ConstraintConfig:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) must not be above max ({self.max:g})")
        return self

    def allows(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class EvaluatorConfig(_Strict):
    command: list[str] | str | None = None
    python: str | None = None
    timeout: float = Field(default=600.0, gt=0)

    @field_validator("command")
    @classmethod
    def _command(cls, command: list[str] | str | None) -> list[str] | str | None:
        if command is not None and (not command or (isinstance(command, str) and not command.strip())):
            raise ValueError("the command is empty")
        return command

    @field_validator("python")
    @classmethod
    def _python(cls, target: str | None) -> str | None:
        if target is not None and not MODULE_FUNCTION.match(target):
            raise ValueError(f'"{target}" is not of the form "module:function"')
        return target

    @model_validator(mode="after")
    def _one_kind(self) -> EvaluatorConfig:
        if (self.command is None) == (self.python is None):
            raise ValueError("give exactly one of command or python")
        return self


class StopConfig(_Strict):
    convergence: float | None = Field(default=None, gt=0)


class CampaignConfig(_Strict):
    name: str | None = None
    iterations: int = Field(ge=1, le=100_000)
    batch_size: int = Field(default=1, ge=1, le=10_000)
    seed: int = 0
    initial_samples: int | None = Field(default=None, ge=1)
    parameters: dict[str, ParameterConfig] = Field(min_length=1)
    objectives: dict[str, ObjectiveConfig] = Field(min_length=1)
    constraints: dict[str, ConstraintConfig] = Field(default_factory=dict)
    evaluator: EvaluatorConfig
    stop: StopConfig = Field(default_factory=StopConfig)

    def initial_design_size(self) -> int:
        """Space-filling evaluations before the surrogate takes over (default: 2 per parameter + 2)."""
        if self.initial_samples is not None:
            return self.initial_samples
        return max(self.batch_size, 2 * len(self.parameters) + 2)


class LoadedConfig:
    """A validated config and where it came from."""

    def __init__(self, config: CampaignConfig, path: Path, text: str) -> None:
        self.config = config
        self.path = path
        self.text = text

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.config.name or self.path.stem

    def evaluator_spec(self) -> EvaluatorSpec:
        ev = self.config.evaluator
        command = tuple(ev.command) if isinstance(ev.command, list) else ev.command
        return EvaluatorSpec(command=command, python=ev.python, timeout=ev.timeout, workdir=str(self.folder))

    def parameter_metadata(self) -> list[dict[str, Any]]:
        """The ``parameters`` of the Campaign metadata (PROTOCOL.md section 5)."""
        out: list[dict[str, Any]] = []
        for name, spec in self.config.parameters.items():
            if isinstance(spec, CategoricalSpec):
                out.append({"name": name, "type": "categorical", "choices": list(spec.choices)})
            else:
                kind = "float" if isinstance(spec, ContinuousSpec) else "int"
                out.append({"name": name, "type": kind, "low": spec.low, "high": spec.high})
        return out

    def objective_metadata(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "direction": o.direction, **({"unit": o.unit} if o.unit else {})}
            for name, o in self.config.objectives.items()
        ]

    def check_same_campaign(self, journaled: dict[str, Any], journal: Path) -> None:
        """A resume must use the config its journal was made with (same parameters and objectives)."""
        current = {"parameters": self.parameter_metadata(), "objectives": self.objective_metadata()}
        for key, value in current.items():
            if journaled.get(key) != value:
                raise ConfigError(
                    f"The journal {journal} holds a campaign with other {key} than "
                    f"{self.path.name}: resume with the config it was started with."
                )

    def default_campaign_id(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-._")[:100]
        return slug or "campaign"


def _check_range(low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("low and high must be finite numbers")
    if low >= high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise ValueError(f"a log-scaled range must be positive, low is {low}")


# ----- loading -----------------------------------------------------------------------


def load_config(path: str | Path) -> LoadedConfig:
    """Read, parse and validate ``path``; ``ConfigError`` with one sentence on any mistake."""
    path = Path(path).absolute()
    shown = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the config {path}: {exc.strerror or exc}.") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{shown}: the config is larger than 1 MiB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: the config is not UTF-8 text.") from None
    return LoadedConfig(parse_config(text, shown), path, text)


def parse_config(text: str, shown: str = "campaign.yaml") -> CampaignConfig:
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        raise ConfigError(f"{where}: not valid YAML: {exc.problem or exc.context}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: not valid YAML: {exc}.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: the config must be a mapping of keys (name, iterations, ...).")
    lines: dict[KeyPath, int] = {}
    _key_lines(document, (), lines, shown)
    try:
        config = CampaignConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, lines, shown)) from None
    for name in config.constraints:
        if name not in config.objectives:
            line = lines.get(("constraints", name), 1)
            message = "not an objective (constraints bound objectives)"
            raise ConfigError(f"{shown}:{line}: constraints.{name}: {message}")
    return config


def _key_lines(node: yaml.Node | None, prefix: KeyPath, lines: dict[KeyPath, int], shown: str) -> None:
    """Line (1-based) of every key, by key path; duplicate keys are errors."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            path = (*prefix, key)
            if path in lines:
                dotted = ".".join(str(p) for p in path)
                raise ConfigError(f"{shown}:{key_node.start_mark.line + 1}: {dotted}: the key is given twice")
            lines[path] = key_node.start_mark.line + 1
            _key_lines(value_node, path, lines, shown)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            lines[path] = item.start_mark.line + 1
            _key_lines(item, path, lines, shown)


def _first_error(exc: ValidationError, lines: dict[KeyPath, int], shown: str) -> str:
    error = exc.errors(include_url=False)[0]
    path = _yaml_path(tuple(error["loc"]), lines)
    line = _line_of(path, lines)
    where = f"{shown}:{line}" if line else shown
    dotted = ".".join(str(p) for p in path)
    message = _message(error, path, lines)
    return f"{where}: {dotted}: {message}" if dotted else f"{where}: {message}"


def _yaml_path(loc: KeyPath, lines: dict[KeyPath, int]) -> KeyPath:
    """pydantic's loc without the union tags it inserts (``continuous``, ``list[str]``, ...)."""
    path: KeyPath = ()
    for index, part in enumerate(loc):
        candidate = (*path, part)
        if candidate in lines or (index == len(loc) - 1 and not _is_tag(path, part)):
            path = candidate
    return path


def _is_tag(path: KeyPath, part: str | int) -> bool:
    if len(path) == 2 and path[0] == "parameters":
        return part in ("continuous", "integer", "categorical")
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool"))


def _line_of(path: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1 if lines else None


def _message(error: Any, path: KeyPath, lines: dict[KeyPath, int]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        siblings = _allowed_keys(path[:-1])
        close = difflib.get_close_matches(str(path[-1]), siblings, n=1)
        hint = f" (did you mean {close[0]}?)" if close else f" (known keys: {', '.join(siblings)})"
        return f"unknown key{hint}"
    if kind == "missing":
        return "is required"
    if error.get("input") is None and kind.endswith("_type"):
        return "is empty (a value is required)"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "type must be one of continuous, integer, categorical"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message[:1].lower() + message[1:] if message else "invalid value"


def _allowed_keys(parent: KeyPath) -> list[str]:
    """The keys a mapping at ``parent`` may hold (for did-you-mean hints)."""
    top = list(CampaignConfig.model_fields)
    sections: dict[str, type[BaseModel]] = {"evaluator": EvaluatorConfig, "stop": StopConfig}
    if not parent:
        return top
    if len(parent) == 1 and parent[0] in sections:
        return list(sections[str(parent[0])].model_fields)
    if len(parent) == 2 and parent[0] == "objectives":
        return list(ObjectiveConfig.model_fields)
    if len(parent) == 2 and parent[0] == "constraints":
        return list(ConstraintConfig.model_fields)
    if len(parent) == 2 and parent[0] == "parameters":
        return ["type", "low", "high", "log", "choices"]
    return []
