"""The emulator's in-memory model store: names, presets, loaded models, blobs.

Owns the `FakeModel` description, Ollama's model-name rules (``[host/][namespace/]
model[:tag]``, case-insensitive matching, ``:latest`` default), the preset catalogue
and the JSON shapes models take in ``/api/tags``, ``/api/show`` and ``/api/ps``.
Imports only the standard library and sibling modules.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from ._wire import go_quote, local_rfc3339

if TYPE_CHECKING:
    from ._faults import Fault

DEFAULT_HOST: Final = "registry.ollama.ai"
DEFAULT_NAMESPACE: Final = "library"
DEFAULT_TAG: Final = "latest"
DEFAULT_TEMPLATE: Final = "{{ .Prompt }}"
"""Go's ``template.DefaultTemplate``: what a model without a template layer has."""

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
_MISSING: Final = "!MISSING!"  # Go's model.MissingPart


@dataclass(frozen=True)
class Name:
    """A parsed model name with Ollama's defaults filled in."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def full(self) -> str:
        """``registry.ollama.ai/library/llama3.2:latest``."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        """Registry key: matching is case-insensitive."""
        return self.full.lower()

    @property
    def display(self) -> str:
        """Shortest form, as ``/api/tags`` lists it: ``llama3.2:latest``."""
        if self.host.lower() != DEFAULT_HOST:
            return self.full
        if self.namespace.lower() != DEFAULT_NAMESPACE:
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.model}:{self.tag}"

    @property
    def valid(self) -> bool:
        """Go's ``Name.IsValid``: every part present and well formed."""
        return bool(
            _PART.fullmatch(self.model)
            and _PART.fullmatch(self.tag)
            and _NAMESPACE.fullmatch(self.namespace)
            and _HOST.fullmatch(self.host)
        )


def _cut_promised(text: str, sep: str) -> tuple[str, str, bool]:
    """Go's ``cutPromised``: split at the last ``sep``; an empty side is missing."""
    head, found, tail = text.rpartition(sep)
    if not found:
        return text, "", False
    return head or _MISSING, tail or _MISSING, True


def go_name(text: str) -> Name:
    """Go's ``model.ParseName``: split, then fill the defaults; maybe invalid.

    No check is made here (see `Name.valid`): Ollama reports some invalid names
    by what this gives, as in ``unqualified name: registry.ollama.ai/...``.
    """
    host = namespace = tag = ""
    if text.rfind(":") > text.rfind("/"):
        text, tag, _ = _cut_promised(text, ":")
    text, model, promised = _cut_promised(text, "/")
    if promised:
        text, namespace, promised = _cut_promised(text, "/")
        if promised:
            scheme, found, rest = text.partition("://")
            host = rest if found else scheme
        else:
            namespace = text
    else:
        model = text
    return Name(
        host or DEFAULT_HOST, namespace or DEFAULT_NAMESPACE, model, tag or DEFAULT_TAG
    )


def parse_name(text: str) -> Name | None:
    """Parse like Go's ``model.ParseName``; None when the name is invalid."""
    name = go_name(text)
    return name if name.valid else None


LOCAL: Final = "local"
CLOUD: Final = "cloud"


@dataclass(frozen=True)
class ModelRef:
    """What a request's ``model`` names (Go's ``parsedModelRef``).

    ``base`` is the name without a ``:local`` / ``:cloud`` / ``-cloud`` suffix;
    ``source`` says which suffix there was (``""``, `LOCAL` or `CLOUD`).
    """

    original: str
    base: str
    source: str
    name: Name


class ModelRefError(ValueError):
    """A model reference Ollama refuses; ``kind`` is ``required``, ``conflict``
    or ``invalid`` (Go's ``writeModelRefParseError`` maps each to its reply)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _source_suffix(raw: str) -> tuple[str, str]:
    """Go's ``parseSourceSuffix``: (base, source)."""
    idx = raw.rfind(":")
    if idx >= 0:
        suffix_raw = raw[idx + 1 :].strip()
        suffix = suffix_raw.lower()
        if suffix in (CLOUD, LOCAL):
            return raw[:idx], suffix
        if "/" not in suffix_raw and suffix.endswith("-cloud"):
            return raw[: idx + 1] + suffix_raw[: -len("-cloud")], CLOUD
    return raw, ""


def parse_ref(raw: str) -> ModelRef:
    """Go's ``parseAndValidateModelRef``; raises `ModelRefError`."""
    raw = raw.strip()
    if not raw:
        raise ModelRefError("required", "model is required")
    base, source = _source_suffix(raw)
    if source and _source_suffix(base)[1]:
        raise ModelRefError(
            "conflict", f"use either :local or :cloud, not both: {go_quote(raw)}"
        )
    name = go_name(base)
    if not name.valid:
        raise ModelRefError("invalid", "invalid model name")
    return ModelRef(raw, base, source, name)


def pull_ref(raw: str) -> ModelRef:
    """Go's ``parseNormalizePullModelRef``: a cloud name becomes the legacy
    stub name (``gpt-oss:20b:cloud`` -> ``gpt-oss:20b-cloud``)."""
    ref = parse_ref(raw)
    if ref.source != CLOUD:
        return ref
    explicit_tag = ref.base.rfind(":") > ref.base.rfind("/")
    base = ref.base + ("-cloud" if explicit_tag else ":cloud")
    name = go_name(base)
    if not name.valid:
        raise ModelRefError("invalid", "invalid model name")
    return ModelRef(ref.original, base, ref.source, name)


def unqualified(text: str) -> str:
    """Go's error for pushing an invalid name: ParseName, DisplayShortest,
    ParseName again, then ``unqualified name: <Name.String()>``."""
    name = go_name(go_name(text).display)
    return f"unqualified name: {name.full}"


def fake_digest(*parts: str) -> str:
    """A stable 64-hex digest for a made-up blob."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


_BASE_DATE = datetime(2026, 5, 1, 9, 30, 12, 345678, tzinfo=UTC)


@dataclass(kw_only=True)
class FakeModel:
    """A model the emulator knows, installed or pullable.

    Only ``name`` is required; the rest shapes ``/api/tags``, ``/api/show`` and how
    the model answers. ``reply`` fixes the answer text (split into word tokens);
    ``tool_calls`` (a list of ``{"name": ..., "arguments": {...}}``) is what the
    model answers when a chat request offers tools; ``fault`` is injected into
    every request that names this model.

    ``remote_host`` and ``remote_model`` make it a remote model, the stub
    ``ollama pull gpt-oss:20b-cloud`` installs: Ollama relays its generate and
    chat requests to that host (only ``ollama.com`` is allowed, Ollama's default
    ``OLLAMA_REMOTES``), and reports both in tags, show and every answer.
    ``renderer`` and ``parser`` name Ollama's built-in prompt renderer and
    output parser (Modelfile ``RENDERER``/``PARSER``), ``requires`` the lowest
    Ollama version the model needs, as ``/api/show`` reports it. An empty
    ``template`` with neither renderer nor parser stands for a model run
    through its GGUF chat template (the runner's own chat endpoint).
    """

    name: str
    family: str = "llama"
    families: list[str] | None = None
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    format: str = "gguf"
    parent_model: str = ""
    capabilities: tuple[str, ...] = ("completion",)
    context_length: int = 131072
    embedding_length: int = 3072
    size: int = 2_019_393_189
    digest: str = ""
    template: str = DEFAULT_TEMPLATE
    system: str = ""
    license: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    modified_at: datetime | None = None
    renderer: str = ""
    parser: str = ""
    requires: str = ""
    remote_host: str = ""
    remote_model: str = ""
    reply: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    fault: Fault | None = None

    def __post_init__(self) -> None:
        parsed = parse_name(self.name)
        if parsed is None:
            raise ValueError(f"invalid model name: {self.name!r}")
        self.name = parsed.display
        if not self.digest:
            self.digest = fake_digest("manifest", parsed.key)
        if self.families is None:
            self.families = [self.family]
        if self.modified_at is None:
            days = int(self.digest[:4], 16) % 90
            self.modified_at = _BASE_DATE - timedelta(days=days)

    @property
    def key(self) -> str:
        """The case-insensitive registry key."""
        parsed = parse_name(self.name)
        assert parsed is not None
        return parsed.key

    def has(self, capability: str) -> bool:
        """Whether the model reports ``capability`` (``tools``, ``thinking`` ...)."""
        return capability in self.capabilities

    @property
    def is_remote(self) -> bool:
        """Whether generate and chat are relayed to ``remote_host`` (Go checks
        both fields)."""
        return bool(self.remote_host and self.remote_model)

    @property
    def native_chat(self) -> bool:
        """Whether the runner renders chats itself (no Go template, renderer or
        parser: Ollama's ``chatExecutionModeNative``). Never for a remote
        model, which Ollama gives its default template."""
        return not (self.template or self.renderer or self.parser or self.remote_host)

    def details(self, *, lengths: bool = False, parent: bool = True) -> dict[str, Any]:
        """The ``details`` object: tags has the lengths, ps no parent model."""
        out: dict[str, Any] = {
            "parent_model": self.parent_model if parent else "",
            "format": self.format,
            "family": self.family,
            "families": self.families,
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }
        if lengths:
            # Go's model list reads both from the GGUF (from the config for a
            # remote model); zero is omitted.
            out |= {
                k: v
                for k, v in (
                    ("context_length", self.context_length),
                    ("embedding_length", self.embedding_length),
                )
                if v
            }
        return out

    def layers(self) -> list[tuple[str, str, int]]:
        """(media type, sha256 hex, size) per layer, weights first."""
        small = [
            ("application/vnd.ollama.image.template", self.template),
            ("application/vnd.ollama.image.license", self.license),
            ("application/vnd.ollama.image.system", self.system),
            (
                "application/vnd.ollama.image.params",
                str(sorted(self.parameters)) if self.parameters else "",
            ),
        ]
        out = []
        if not self.remote_host:
            out.append(
                (
                    "application/vnd.ollama.image.model",
                    fake_digest("weights", self.digest),
                    self.size - 2048,
                )
            )
        out += [
            (kind, fake_digest(kind, text), max(len(text.encode()), 20))
            for kind, text in small
            if text
        ]
        return out

    def tags_entry(self) -> dict[str, Any]:
        """One element of ``/api/tags``."""
        assert self.modified_at is not None
        return {
            "name": self.name,
            "model": self.name,
            **self._remote_fields(),
            "modified_at": local_rfc3339(self.modified_at),
            "size": self.size,
            "digest": self.digest,
            "details": self.details(lengths=True),
            "capabilities": list(self.capabilities),
        }

    def _remote_fields(self) -> dict[str, str]:
        """``remote_model`` and ``remote_host``, each omitted when empty."""
        return {
            k: v
            for k, v in (
                ("remote_model", self.remote_model),
                ("remote_host", self.remote_host),
            )
            if v
        }

    def model_info(self, *, verbose: bool) -> dict[str, Any]:
        """GGUF-style metadata; long arrays are blanked unless verbose (as Ollama).

        Keys are sorted, as Go writes a map. A remote model has no GGUF: Go
        reports its family and lengths from the config instead.
        """
        if self.remote_host:
            if not self.family:
                return {}
            remote: dict[str, Any] = {"general.architecture": self.family}
            if self.context_length > 0:
                remote[f"{self.family}.context_length"] = self.context_length
            if self.embedding_length > 0:
                remote[f"{self.family}.embedding_length"] = self.embedding_length
            return dict(sorted(remote.items()))
        arch = self.family.replace("-", "")
        tokens = ["<unk>", "<s>", "</s>", "the", "of", "and", "to", "in"]
        info: dict[str, Any] = {
            "general.architecture": arch,
            "general.file_type": 15,
            "general.parameter_count": _param_count(self.parameter_size),
            "general.quantization_version": 2,
            f"{arch}.context_length": self.context_length,
            f"{arch}.embedding_length": self.embedding_length,
            "tokenizer.ggml.model": "gpt2",
            "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.token_type": [1] * len(tokens),
        }
        if not verbose:
            info = {
                k: ([] if isinstance(v, list) and len(v) > 5 else v)
                for k, v in info.items()
            }
        return dict(sorted(info.items()))

    def parameters_text(self) -> str:
        """The ``parameters`` string: key padded to 30 columns, then the value
        as Go's ``%#v`` prints it; one line per element of a list."""
        lines = []
        for key in sorted(self.parameters):
            value = self.parameters[key]
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key:<30} {_go_sharp_v(item)}")
        return "\n".join(lines)

    def modelfile(
        self, *, system: str = "", options: Mapping[str, Any] | None = None
    ) -> str:
        """A Modelfile like ``ollama show --modelfile`` prints (Go's
        ``Model.String``); ``system`` and ``options`` as ``/api/show`` takes them.

        A model without a template layer shows Go's default template; a remote
        model has no weights, so its ``FROM`` names nothing.
        """
        weights = self.layers()[0][1] if not self.remote_host else ""
        out = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this, replace FROM with:",
            f"# FROM {self.name}",
            "",
            f"FROM /root/.ollama/models/blobs/sha256-{weights}" if weights else "FROM ",
            f"TEMPLATE {_modelfile_quote(self.template or DEFAULT_TEMPLATE)}",
        ]
        system = system or self.system
        if system:
            out.append(f"SYSTEM {_modelfile_quote(system)}")
        if self.renderer:
            out.append(f"RENDERER {_modelfile_quote(self.renderer)}")
        if self.parser:
            out.append(f"PARSER {_modelfile_quote(self.parser)}")
        parameters = {**self.parameters, **(options or {})}
        for key in sorted(parameters):
            value = parameters[key]
            for item in value if isinstance(value, list) else [value]:
                out.append(f"PARAMETER {key} {_modelfile_quote(_go_v(item))}")
        if self.license:
            out.append(f"LICENSE {_modelfile_quote(self.license)}")
        for message in self.messages:
            role, content = message.get("role", ""), message.get("content", "")
            out.append(f"MESSAGE {role} {_modelfile_quote(str(content))}")
        return "\n".join(out) + "\n"

    def show(
        self,
        *,
        verbose: bool,
        system: str = "",
        options: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``/api/show`` body, in the field order of Go's ``ShowResponse``
        (fields omitted when empty, as Go does).

        As Ollama's ``GetModelInfo``: a non-empty ``system`` replaces the
        model's in ``system`` and the Modelfile; ``options`` are merged over the
        parameters in ``modelfile`` only, after ``parameters`` was written.
        ``requires`` comes from the model's config; ``renderer`` and
        ``parser`` only reach the Modelfile (Go never fills those two fields
        of a local answer). A remote model stops before the weights: no
        tensors, no projector, and ``model_info`` from its config.
        """
        assert self.modified_at is not None
        template = self.template
        if self.remote_host:
            template = template or DEFAULT_TEMPLATE
        body: dict[str, Any] = {
            "license": self.license,
            "modelfile": self.modelfile(system=system, options=options),
            "parameters": self.parameters_text(),
            "template": template,
            "system": system or self.system,
            "details": self.details(),
            "messages": self.messages,
            **self._remote_fields(),
            "model_info": self.model_info(verbose=verbose),
        }
        if not self.is_remote:
            if self.has("vision"):
                body["projector_info"] = {"clip.has_vision_encoder": True}
            body["tensors"] = [
                {
                    "name": "token_embd.weight",
                    "type": "Q4_K",
                    "shape": [self.embedding_length, 32000],
                },
                {
                    "name": "output_norm.weight",
                    "type": "F32",
                    "shape": [self.embedding_length],
                },
            ]
        body |= {
            "capabilities": list(self.capabilities),
            "modified_at": local_rfc3339(self.modified_at),
            "requires": self.requires,
        }
        keep = {"details", "model_info", "modified_at"}
        return {k: v for k, v in body.items() if v or k in keep}


def _go_float(number: float) -> str:
    """Go's ``%v`` of a float64 (JSON numbers decode to float64): the shortest
    digits that round-trip, in ``%e`` form below 1e-4 or from 1e6 on."""
    if math.isnan(number) or math.isinf(number):
        return "NaN" if math.isnan(number) else ("+Inf" if number > 0 else "-Inf")
    text = repr(float(number))  # Python's repr is also the shortest round-trip
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exponent = text.lstrip("-").partition("e")
    whole, _, frac = mantissa.partition(".")
    raw = whole + frac
    digits = raw.lstrip("0").rstrip("0") or "0"
    point = len(whole) + int(exponent or 0) - (len(raw) - len(raw.lstrip("0")))
    if digits == "0":
        return sign + "0"
    exp = point - 1
    if exp < -4 or exp >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _go_v(value: Any) -> str:
    """Go's ``%v`` of a JSON-decoded value (``map[k:v]`` has sorted keys)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(_go_v(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{k}:{_go_v(value[k])}" for k in sorted(value))
        return "map[" + " ".join(pairs) + "]"
    return str(value)


def _go_sharp_v(value: Any) -> str:
    """Go's ``%#v`` of a scalar: strings quoted, the rest as ``%v``."""
    return go_quote(value) if isinstance(value, str) else _go_v(value)


def _modelfile_quote(text: str) -> str:
    """The Modelfile parser's ``quote``: only multi-line or space-edged text."""
    if "\n" in text or text.startswith(" ") or text.endswith(" "):
        return f'"""{text}"""' if '"' in text else f'"{text}"'
    return text


def _param_count(size: str) -> int:
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    try:
        return int(float(size[:-1]) * scale[size[-1].upper()])
    except (KeyError, ValueError, IndexError):
        return 0


_LLAMA_TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>"
    "{{ range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
    "{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>"
)
_QWEN_TEMPLATE = (
    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n"
    "{{ end }}<|im_start|>assistant\n{{ if .Thinking }}<think>{{ .Thinking }}"
    "</think>{{ end }}"
)


def presets() -> list[FakeModel]:
    """The models installed by default."""
    return [
        FakeModel(
            name="llama3.2:latest",
            capabilities=("completion", "tools"),
            template=_LLAMA_TEMPLATE,
            license="LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n"
            "Llama 3.2 Version Release Date: September 25, 2024",
            parameters={
                "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
            },
        ),
        FakeModel(
            name="qwen3:8b",
            family="qwen3",
            parameter_size="8.2B",
            capabilities=("completion", "tools", "thinking"),
            context_length=40960,
            embedding_length=4096,
            size=5_225_388_164,
            template=_QWEN_TEMPLATE,
            license="Apache License\nVersion 2.0, January 2004",
            parameters={
                "repeat_penalty": 1,
                "stop": ["<|im_start|>", "<|im_end|>"],
                "temperature": 0.6,
                "top_k": 20,
                "top_p": 0.95,
            },
        ),
        FakeModel(
            name="nomic-embed-text:latest",
            family="nomic-bert",
            parameter_size="137M",
            quantization_level="F16",
            capabilities=("embedding",),
            context_length=2048,
            embedding_length=768,
            size=274_302_450,
            license="Apache License\nVersion 2.0, January 2004",
            parameters={"num_ctx": 8192},
        ),
        FakeModel(
            name="llava:7b",
            families=["llama", "clip"],
            parameter_size="7B",
            quantization_level="Q4_0",
            capabilities=("completion", "vision"),
            context_length=32768,
            embedding_length=4096,
            size=4_733_363_377,
            template="[INST] {{ if .System }}{{ .System }} {{ end }}"
            "{{ .Prompt }} [/INST]",
            license="Apache License\nVersion 2.0, January 2004",
            parameters={"stop": ["[INST]", "[/INST]"]},
        ),
    ]


def remote_presets() -> list[FakeModel]:
    """Models that are not installed but can be pulled."""
    return [
        FakeModel(
            name="gemma3:1b",
            family="gemma3",
            parameter_size="999.89M",
            context_length=32768,
            embedding_length=1152,
            size=815_319_791,
            license="Gemma Terms of Use",
            parameters={"stop": ["<end_of_turn>"], "top_k": 64, "top_p": 0.95},
        ),
        FakeModel(
            name="all-minilm:latest",
            family="bert",
            parameter_size="23M",
            quantization_level="F16",
            capabilities=("embedding",),
            context_length=512,
            embedding_length=384,
            size=45_960_996,
        ),
        FakeModel(
            name="qwen2.5-coder:1.5b",
            family="qwen2",
            parameter_size="1.5B",
            capabilities=("completion", "tools", "insert"),
            context_length=32768,
            embedding_length=1536,
            size=986_062_089,
        ),
    ]


class ModelRegistry(MutableMapping[str, FakeModel]):
    """Installed models keyed by name; lookups normalise like Ollama.

    ``registry["LLAMA3.2"]`` finds ``llama3.2:latest``. Iteration yields display
    names. Assigning under a name stores a copy renamed to that name.
    """

    def __init__(self, models: Iterable[FakeModel] = ()) -> None:
        self._models: dict[str, FakeModel] = {}
        for model in models:
            self.add(model)

    def add(self, model: FakeModel) -> None:
        """Install (or replace) a model."""
        self._models[model.key] = model

    def find(self, name: str) -> FakeModel | None:
        """The installed model ``name`` refers to, or None."""
        parsed = parse_name(name)
        return None if parsed is None else self._models.get(parsed.key)

    def existing_name(self, name: Name) -> Name:
        """Go's ``getExistingName``: each part of ``name`` spelled as an
        installed model spells it, where one matches it ignoring case."""
        parts = [name.host, name.namespace, name.model, name.tag]
        for model in self._models.values():
            have = parse_name(model.name)
            assert have is not None
            known = [have.host, have.namespace, have.model, have.tag]
            parts = [
                k if k.lower() == p.lower() else p
                for p, k in zip(parts, known, strict=True)
            ]
        return Name(*parts)

    def __getitem__(self, name: str) -> FakeModel:
        model = self.find(name)
        if model is None:
            raise KeyError(name)
        return model

    def __setitem__(self, name: str, model: FakeModel) -> None:
        self.add(model if model.name == name else replace(model, name=name, digest=""))

    def __delitem__(self, name: str) -> None:
        parsed = parse_name(name)
        if parsed is None or parsed.key not in self._models:
            raise KeyError(name)
        del self._models[parsed.key]

    def __iter__(self) -> Iterator[str]:
        return iter([m.name for m in self._models.values()])

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return f"ModelRegistry({sorted(self)!r})"


@dataclass
class Loaded:
    """A model resident in memory, as ``/api/ps`` shows it."""

    model: FakeModel
    expires_at: datetime
    context_length: int

    def ps_entry(self) -> dict[str, Any]:
        """One element of ``/api/ps``, in the field order of Go's
        ``ProcessModelResponse``; its details carry no parent model."""
        return {
            "name": self.model.name,
            "model": self.model.name,
            "size": self.model.size,
            "digest": self.model.digest,
            "details": self.model.details(parent=False),
            "expires_at": local_rfc3339(self.expires_at),
            "size_vram": self.model.size,
            "context_length": self.context_length,
        }
