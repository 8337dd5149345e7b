"""The public surface: sorted and complete ``__all__`` lists, the version, the
documented exception tree, the official client's exception attributes, and an
import that stays light."""

from __future__ import annotations

import builtins
import re
import subprocess
import sys
import types as pytypes

import pytest

import ollama_async
import ollama_async.types
from ollama_async import _errors

# -- __all__ -------------------------------------------------------------------


def isort_key(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize(
    "module", [ollama_async, ollama_async.types], ids=["ollama_async", "types"]
)
def test_all_is_sorted_and_unique(module: pytypes.ModuleType) -> None:
    assert module.__all__ == sorted(module.__all__, key=isort_key)
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize(
    "module", [ollama_async, ollama_async.types], ids=["ollama_async", "types"]
)
def test_every_name_in_all_exists(module: pytypes.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


# Public submodules that may appear as attributes without being in __all__.
PUBLIC_SUBMODULES = {"types", "testing", "cli", "ray"}


@pytest.mark.parametrize(
    "module", [ollama_async, ollama_async.types], ids=["ollama_async", "types"]
)
def test_every_public_attribute_is_exported(module: pytypes.ModuleType) -> None:
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith(("_", "@"))  # "@py_builtins": pytest's rewrite
        and not (isinstance(value, pytypes.ModuleType) and name in PUBLIC_SUBMODULES)
    }
    assert public - set(module.__all__) == set()


@pytest.mark.parametrize(
    "module", [ollama_async, ollama_async.types], ids=["ollama_async", "types"]
)
def test_no_module_is_exported(module: pytypes.ModuleType) -> None:
    leaked = [
        name
        for name in module.__all__
        if isinstance(getattr(module, name), pytypes.ModuleType)
    ]
    assert leaked == []


def test_exported_objects_come_from_the_package() -> None:
    # No third-party object (aiohttp, msgspec) re-exported by accident; the
    # UNSET sentinel is msgspec's on purpose, so msgspec.UNSET works too.
    allowed = {"UNSET", "UnsetType"}
    for module in (ollama_async, ollama_async.types):
        for name in set(module.__all__) - allowed - {"__version__", "ThinkLevel"}:
            owner = getattr(getattr(module, name), "__module__", "")
            assert owner.startswith("ollama_async"), (name, owner)


def test_every_error_is_exported_at_the_top() -> None:
    assert set(_errors.__all__) <= set(ollama_async.__all__)


def test_every_response_type_is_exported_at_the_top() -> None:
    responses = {n for n in ollama_async.types.__all__ if n.endswith("Response")}
    assert responses <= set(ollama_async.__all__)


def test_version() -> None:
    assert isinstance(ollama_async.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)*", ollama_async.__version__)


# -- exception tree ------------------------------------------------------------

E = ollama_async
EXPECTED_BASES: dict[type[BaseException], tuple[type[BaseException], ...]] = {
    E.OllamaError: (Exception,),
    E.RequestError: (E.OllamaError, ValueError),
    E.UsageError: (E.OllamaError, RuntimeError),
    E.ResponseError: (E.OllamaError,),
    E.StatusError: (E.ResponseError,),
    E.BadRequestError: (E.StatusError,),
    E.AuthenticationError: (E.StatusError,),
    E.PermissionDeniedError: (E.StatusError,),
    E.NotFoundError: (E.StatusError,),
    E.RateLimitError: (E.StatusError,),
    E.ServerError: (E.StatusError,),
    E.ServerBusyError: (E.ServerError,),
    E.StreamError: (E.ResponseError,),
    E.IncompleteStreamError: (E.StreamError,),
    E.TransportError: (E.OllamaError,),
    E.ConnectError: (E.TransportError, ConnectionError),
    E.RemoteProtocolError: (E.TransportError,),
    E.TimeoutError: (E.TransportError, builtins.TimeoutError),
    E.ConnectTimeout: (E.TimeoutError,),
    E.PoolTimeout: (E.TimeoutError,),
    E.ReadTimeout: (E.TimeoutError,),
    E.FirstByteTimeout: (E.ReadTimeout,),
    E.TotalTimeout: (E.TimeoutError,),
    E.DecodeError: (E.OllamaError, ValueError),
    E.LineTooLongError: (E.DecodeError,),
    E.StructuredOutputError: (E.DecodeError,),
    E.MaxToolRoundsError: (E.OllamaError,),
}


@pytest.mark.parametrize(
    ("cls", "bases"),
    list(EXPECTED_BASES.items()),
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_exception_bases(
    cls: type[BaseException], bases: tuple[type[BaseException], ...]
) -> None:
    assert cls.__bases__ == bases


def test_expected_tree_covers_every_exception() -> None:
    exported = {
        getattr(ollama_async, n)
        for n in ollama_async.__all__
        if isinstance(getattr(ollama_async, n), type)
        and issubclass(getattr(ollama_async, n), BaseException)
        and not issubclass(getattr(ollama_async, n), Warning)
    }
    assert exported == set(EXPECTED_BASES)


def test_the_one_warning_is_a_user_warning_outside_the_error_tree() -> None:
    warns = [
        n
        for n in ollama_async.__all__
        if isinstance(getattr(ollama_async, n), type)
        and issubclass(getattr(ollama_async, n), Warning)
    ]
    assert warns == ["InsecureTLSWarning"]
    assert ollama_async.InsecureTLSWarning.__bases__ == (UserWarning,)


def _documented_tree() -> dict[str, list[str]]:
    """Bases per class as drawn in the ``_errors`` module docstring: a class's
    parent is the nearest class above it drawn one level (4 columns) left."""
    doc = _errors.__doc__ or ""
    tree: dict[str, list[str]] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.search(r"([A-Z]\w+(?:Error|Timeout))\b(.*)$", line)
        if not match or not re.fullmatch(r"[ │├└─]*", line[: match.start()]):
            continue
        column, name = match.start(), match.group(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        bases = [stack[-1][1]] if stack else ["Exception"]
        also = re.search(r"\(also ([\w.]+)\)", match.group(2))
        if also:
            bases.append(also.group(1).removeprefix("builtins."))
        tree[name] = bases
        stack.append((column, name))
    return tree


def test_docstring_tree_matches_the_classes() -> None:
    documented = _documented_tree()
    actual = {
        cls.__name__: [b.__name__ for b in bases]
        for cls, bases in EXPECTED_BASES.items()
    }
    assert documented == actual


@pytest.mark.parametrize(
    ("exc", "catcher"),
    [
        pytest.param(
            E.NotFoundError("x", 404), E.ResponseError, id="404-is-ResponseError"
        ),
        pytest.param(E.StreamError("x"), E.ResponseError, id="stream-is-ResponseError"),
        pytest.param(E.RequestError("x"), ValueError, id="request-is-ValueError"),
        pytest.param(E.ReadTimeout("x"), builtins.TimeoutError, id="timeout-builtin"),
        pytest.param(E.ConnectError("x"), OSError, id="connect-is-OSError"),
        pytest.param(E.UsageError("x"), RuntimeError, id="usage-is-RuntimeError"),
    ],
)
def test_familiar_except_clauses_catch(
    exc: Exception, catcher: type[Exception]
) -> None:
    with pytest.raises(catcher):
        raise exc


# -- official attributes -------------------------------------------------------


def test_response_error_like_the_official_client() -> None:
    err = E.ResponseError("model 'x' not found", 404)
    assert err.error == "model 'x' not found"
    assert err.status_code == 404
    assert "model 'x' not found" in str(err)
    assert "404" in str(err)


def test_response_error_status_defaults_to_minus_one() -> None:
    err = E.ResponseError("pull model manifest: file does not exist")
    assert err.status_code == -1
    assert str(err) == "pull model manifest: file does not exist"


def test_response_error_takes_the_error_of_a_json_body() -> None:
    # The official constructor accepts a raw body; mocks and replays use it.
    err = E.ResponseError(
        '{"error":"model \\"x\\" not found, try pulling it first"}', 404
    )
    assert err.error == 'model "x" not found, try pulling it first'
    assert E.ResponseError("{not json", 500).error == "{not json"
    openai_shaped = '{"error":{"message":"m"}}'
    assert E.ResponseError(openai_shaped, 500).error == openai_shaped


def test_request_error_like_the_official_client() -> None:
    err = E.RequestError("must provide a model")
    assert err.error == "must provide a model"
    assert str(err) == "must provide a model"


def test_status_error_carries_status_body_and_retry_after() -> None:
    err = E.ServerBusyError(
        "server busy", 503, body=b'{"error":"server busy"}', retry_after=2.0
    )
    assert (err.status, err.status_code, err.error) == (503, 503, "server busy")
    assert err.body == b'{"error":"server busy"}'
    assert err.retry_after == 2.0


def test_decode_error_keeps_a_bounded_excerpt() -> None:
    err = E.DecodeError("bad line", data=b"x" * 10_000)
    assert len(err.excerpt) < 300
    assert "10000" in err.excerpt
    assert str(err).startswith("bad line: ")
    assert str(E.DecodeError("no data")) == "no data"


# -- import hygiene ------------------------------------------------------------


def _fresh_import(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip()


def test_import_does_not_load_the_testing_package() -> None:
    out = _fresh_import(
        "import sys, ollama_async; "
        "print(sorted(m for m in sys.modules if m.startswith('ollama_async.testing')))"
    )
    assert out == "[]"


def test_import_makes_no_client_and_no_session() -> None:
    # No module-level client (the official package builds one at import).
    out = _fresh_import(
        "import gc, ollama_async, aiohttp; "
        "print(sum(isinstance(o, (ollama_async.AsyncClient, aiohttp.ClientSession)) "
        "for o in gc.get_objects()))"
    )
    assert out == "0"
