"""Property tests: whatever bytes or strings come in, only our own exception
types come out, and valid input round-trips exactly."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_async import OllamaError
from ollama_async._config import resolve_host
from ollama_async._lines import LineSplitter
from ollama_async._stream import raise_for_line
from ollama_async.types import ChatRequest, ChatResponse, GenerateRequest, Message

FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_decode_chat = msgspec.json.Decoder(ChatResponse).decode


def _decode_line(line: bytes) -> ChatResponse | None:
    """What a stream does with one line: decode, or raise our error."""
    try:
        return _decode_chat(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise_for_line(line, exc, "chat")
        return None  # a blank line


@FAST
@given(st.binary(max_size=2048), st.lists(st.integers(0, 2048), max_size=8))
def test_arbitrary_bytes_raise_only_our_errors(data: bytes, cuts: list[int]) -> None:
    splitter = LineSplitter(max_line_size=512)
    points = sorted({c for c in cuts if c <= len(data)})
    pieces = [
        data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)
    ]
    try:
        lines = [line for piece in pieces for line in splitter.feed(piece)]
        last = splitter.flush()
        for line in [*lines, *([last] if last else [])]:
            _decode_line(line)
    except OllamaError:
        pass  # a LineTooLongError, DecodeError or StreamError: all ours


@FAST
@given(st.text(max_size=200))
def test_the_host_parser_raises_only_request_errors(text: str) -> None:
    try:
        url = resolve_host(text)
    except OllamaError:
        return
    assert url.startswith(("http://", "https://"))
    assert not any(c.isspace() for c in url)
    assert "@" not in url and "?" not in url and "#" not in url


_texts = st.text(max_size=60)
_messages = st.lists(
    st.builds(
        Message,
        role=st.sampled_from(["system", "user", "assistant", "tool"]),
        content=_texts,
        thinking=st.none() | _texts,
        tool_name=st.none() | _texts,
    ),
    max_size=4,
)


@FAST
@given(
    model=st.text(min_size=1, max_size=40),
    messages=_messages,
    think=st.sampled_from([msgspec.UNSET, True, False, "low", "high"]),
    keep_alive=st.sampled_from([msgspec.UNSET, 0, 5.5, "5m", "-1m"]),
    options=st.dictionaries(
        st.sampled_from(["seed", "num_ctx", "temperature"]), st.integers(0, 9)
    ),
)
def test_chat_requests_round_trip(
    model: str,
    messages: list[Message],
    think: object,
    keep_alive: object,
    options: dict[str, int],
) -> None:
    request = ChatRequest(
        model=model,
        stream=True,
        messages=messages,
        think=think,  # type: ignore[arg-type]
        keep_alive=keep_alive,  # type: ignore[arg-type]
        options=options or msgspec.UNSET,
    )
    wire = msgspec.json.encode(request)
    assert msgspec.json.decode(wire, type=ChatRequest) == request
    sent = msgspec.json.decode(wire)
    assert sent["stream"] is True
    assert ("think" in sent) == (think is not msgspec.UNSET)
    if think is False:
        assert sent["think"] is False  # "off" is sent, never dropped


@FAST
@given(
    prompt=st.text(max_size=200),
    raw=st.booleans(),
    context=st.lists(st.integers(0, 2**31)),
)
def test_generate_requests_round_trip(
    prompt: str, raw: bool, context: list[int]
) -> None:
    request = GenerateRequest(
        model="m",
        stream=False,
        prompt=prompt,
        raw=raw,
        context=context or msgspec.UNSET,
    )
    assert (
        msgspec.json.decode(msgspec.json.encode(request), type=GenerateRequest)
        == request
    )


@pytest.mark.parametrize(
    "line", [b"\x85", "\u2028".encode(), b"\xff\xfe", b"{" * 10_000]
)
def test_known_nasty_lines(line: bytes) -> None:
    with pytest.raises(OllamaError):
        _decode_line(line)
