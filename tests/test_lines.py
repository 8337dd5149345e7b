"""The sans-IO NDJSON splitter: the same lines whatever the network's split
points, ``\\n`` as the only separator, and a bounded line length."""

from __future__ import annotations

import itertools
import random
import time
import tracemalloc

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_async import DecodeError, LineTooLongError
from ollama_async._lines import DEFAULT_MAX_LINE_SIZE, LineSplitter

# -- recorded-style payloads ---------------------------------------------------


def _ndjson(*objects: object, end: bytes = b"\n") -> bytes:
    return b"".join(msgspec.json.encode(o) + end for o in objects)


def _chat_stream() -> bytes:
    base = {"model": "llama3.2", "created_at": "2025-10-26T17:21:21.196249Z"}
    words = ["The", " sky", " is", " blue", " because", " of", " Rayleigh", "."]
    lines = [
        {**base, "message": {"role": "assistant", "content": w}, "done": False}
        for w in words
    ]
    lines.append(
        {
            **base,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 4883583458,
            "load_duration": 1334875,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 342546000,
            "eval_count": 282,
            "eval_duration": 4535599000,
        }
    )
    return _ndjson(*lines)


def _generate_stream(context_tokens: int) -> bytes:
    base = {"model": "llama3.2", "created_at": "2025-10-26T17:21:21.196249Z"}
    lines: list[dict[str, object]] = [
        {**base, "response": w, "done": False} for w in ("Hello", ",", " world")
    ]
    lines.append(
        {
            **base,
            "response": "",
            "done": True,
            "done_reason": "stop",
            "context": list(range(128000, 128000 + context_tokens)),
            "eval_count": 3,
        }
    )
    return _ndjson(*lines)


# Go's encoder leaves U+0085 raw in strings (and U+2028/2029 raw here too, as
# msgspec and other encoders do): str.splitlines() would cut these lines.
_UNICODE_LINE_BREAKS = _ndjson(
    {"response": "next\u0085line", "done": False},
    {"response": "line\u2028separator and paragraph\u2029separator", "done": False},
    {"response": "", "done": True},
)
_CRLF = _ndjson({"status": "pulling manifest"}, {"status": "success"}, end=b"\r\n")
_NO_FINAL_NEWLINE = _ndjson({"status": "pulling manifest"}) + b'{"status":"success"}'
_EMPTY_LINES = b'\n\n{"a":1}\n\n\n{"b":2}\n\n'
_LOAD_REPLY = (
    b'{"model":"llama3.2","created_at":"2025-10-26T17:21:21Z",'
    b'"response":"","done":true,"done_reason":"load"}'
)

PAYLOADS = [
    pytest.param(_chat_stream(), id="chat-stream"),
    pytest.param(_generate_stream(3000), id="generate-context-3000"),
    pytest.param(_UNICODE_LINE_BREAKS, id="raw-U+0085-U+2028"),
    pytest.param(_CRLF, id="crlf"),
    pytest.param(_NO_FINAL_NEWLINE, id="no-final-newline"),
    pytest.param(_EMPTY_LINES, id="empty-lines"),
    pytest.param(_LOAD_REPLY, id="single-object-no-newline"),
    pytest.param(b"", id="empty-body"),
]


def expected_lines(payload: bytes) -> list[bytes]:
    """What the splitter must produce, computed without it: every piece
    before a ``\\n``, and the text after the last one when not empty."""
    *lines, last = payload.split(b"\n")
    return [*lines, last] if last else lines


def split_lines(
    pieces: list[bytes], splitter: LineSplitter | None = None
) -> list[bytes]:
    splitter = splitter or LineSplitter()
    lines: list[bytes] = []
    for piece in pieces:
        lines.extend(splitter.feed(piece))
    last = splitter.flush()
    if last is not None:
        lines.append(last)
    return lines


def _cut(payload: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *points, len(payload)]
    return [payload[a:b] for a, b in itertools.pairwise(bounds)]


# -- the payloads themselves ---------------------------------------------------


def test_the_unicode_payload_is_one_that_splitlines_would_cut() -> None:
    # Guards the fixture: if it lost its raw separators the test would be moot.
    assert b"\xc2\x85" in _UNICODE_LINE_BREAKS
    assert b"\xe2\x80\xa8" in _UNICODE_LINE_BREAKS
    text_lines = _UNICODE_LINE_BREAKS.decode().splitlines()
    assert len(text_lines) > len(expected_lines(_UNICODE_LINE_BREAKS)) == 3


def test_unicode_separators_stay_inside_their_line() -> None:
    lines = split_lines([_UNICODE_LINE_BREAKS])
    decoded = [msgspec.json.decode(line) for line in lines]
    assert decoded[0]["response"] == "next\u0085line"
    assert decoded[1]["response"] == "line\u2028separator and paragraph\u2029separator"


def test_crlf_keeps_the_carriage_return_which_json_ignores() -> None:
    lines = split_lines([_CRLF])
    assert lines == [b'{"status":"pulling manifest"}\r', b'{"status":"success"}\r']
    assert [msgspec.json.decode(line)["status"] for line in lines] == [
        "pulling manifest",
        "success",
    ]


def test_empty_lines_are_returned_for_the_caller_to_skip() -> None:
    assert split_lines([_EMPTY_LINES]) == [
        b"",
        b"",
        b'{"a":1}',
        b"",
        b"",
        b'{"b":2}',
        b"",
    ]


def test_last_line_without_newline_comes_from_flush() -> None:
    splitter = LineSplitter()
    assert splitter.feed(_LOAD_REPLY[:10]) == []
    assert splitter.feed(_LOAD_REPLY[10:]) == []
    assert splitter.flush() == _LOAD_REPLY
    assert splitter.flush() is None  # flushing empties the buffer


def test_flush_after_a_newline_is_none() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"a":1}\n') == [b'{"a":1}']
    assert splitter.flush() is None


def test_feeding_nothing_completes_nothing() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"") == []
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b"") == []
    assert splitter.feed(b":1}\n") == [b'{"a":1}']


def test_several_lines_in_one_feed_come_out_together() -> None:
    payload = _chat_stream()
    assert LineSplitter().feed(payload) == expected_lines(payload)


# -- every split point ---------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_unsplit(payload: bytes) -> None:
    assert split_lines([payload]) == expected_lines(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_split_in_two_at_every_index(payload: bytes) -> None:
    expected = expected_lines(payload)
    for i in range(len(payload) + 1):
        assert split_lines([payload[:i], payload[i:]]) == expected, f"split at {i}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_split_in_three_at_many_index_pairs(payload: bytes) -> None:
    expected = expected_lines(payload)
    n = len(payload)
    # Every pair of points around line boundaries (where bugs live), plus a
    # seeded sample of arbitrary pairs.
    near_newline = {
        p
        for i, byte in enumerate(payload)
        if byte == 0x0A
        for p in (i - 1, i, i + 1, i + 2)
        if 0 <= p <= n
    } | {0, 1, n - 1, n}
    points = sorted(p for p in near_newline if 0 <= p <= n)
    pairs = set(itertools.combinations_with_replacement(points, 2))
    rng = random.Random(n)
    pairs |= (
        {tuple(sorted(rng.sample(range(n + 1), 2))) for _ in range(500)} if n else set()
    )
    for i, j in sorted(pairs):
        assert split_lines(_cut(payload, [i, j])) == expected, f"split at {i}, {j}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_fed_one_byte_at_a_time(payload: bytes) -> None:
    pieces = [payload[i : i + 1] for i in range(len(payload))]
    assert split_lines(pieces) == expected_lines(payload)


def test_multi_megabyte_context_line_at_sampled_split_points() -> None:
    payload = _generate_stream(400_000)  # a final line of ~2.8 MB
    expected = expected_lines(payload)
    assert len(expected[-1]) > 2_000_000
    rng = random.Random(1)
    for i in [*rng.sample(range(len(payload)), 40), len(payload) - 1]:
        assert split_lines([payload[:i], payload[i:]]) == expected


# -- property ------------------------------------------------------------------

_json_text = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from('\u0085\u2028\u2029\r\t"\\{}[]'),
    ),
    max_size=40,
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _json_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(_json_text, inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def ndjson_with_splits(draw: st.DrawFn) -> tuple[bytes, list[object], list[int]]:
    objects = draw(st.lists(_json_values, max_size=8))
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    lines = [msgspec.json.encode(o) for o in objects]
    # Optional blank lines between records.
    blanks = draw(st.lists(st.integers(0, 2), min_size=len(lines), max_size=len(lines)))
    payload = b"".join(
        b"\n" * k + line + end for k, line in zip(blanks, lines, strict=True)
    )
    if lines and draw(st.booleans()):
        payload = payload.removesuffix(end)  # last line without its newline
    points = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=12)))
    return payload, objects, points


@settings(max_examples=200, deadline=None)
@given(ndjson_with_splits())
def test_any_split_of_valid_ndjson_yields_the_same_lines(
    case: tuple[bytes, list[object], list[int]],
) -> None:
    payload, objects, points = case
    lines = split_lines(_cut(payload, points))
    assert lines == expected_lines(payload)
    assert [msgspec.json.decode(line) for line in lines if line.strip()] == objects


# -- the line-length cap -------------------------------------------------------


def test_default_cap_is_generous() -> None:
    assert DEFAULT_MAX_LINE_SIZE >= 64 * 1024 * 1024


@pytest.mark.parametrize("size", [0, -1], ids=["zero", "negative"])
def test_cap_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="max_line_size"):
        LineSplitter(size)


def test_line_of_exactly_the_cap_passes() -> None:
    line = b"x" * 100
    assert split_lines([line + b"\n" + line], LineSplitter(100)) == [line, line]
    pieces = [line[:30], line[30:99], line[99:] + b"\n"]
    assert split_lines(pieces, LineSplitter(100)) == [line]


@pytest.mark.parametrize(
    "pieces",
    [
        pytest.param([b"x" * 101 + b"\n"], id="one-feed"),
        pytest.param([b"ok\n" + b"x" * 101 + b"\nok\n"], id="one-feed-between-lines"),
        pytest.param([b"x" * 101], id="one-feed-no-newline"),
        pytest.param([b"x" * 60, b"x" * 41 + b"\n"], id="completed-across-feeds"),
        pytest.param([b"x" * 10] * 11, id="accumulated-across-feeds"),
        pytest.param([b"x" * 50, b"x" * 50, b"x"], id="one-byte-over-across-feeds"),
    ],
)
def test_over_long_line_raises(pieces: list[bytes]) -> None:
    splitter = LineSplitter(100)
    with pytest.raises(LineTooLongError, match="max_line_size=100") as info:
        for piece in pieces:
            splitter.feed(piece)
    assert isinstance(info.value, DecodeError)
    assert info.value.excerpt.startswith("'xxx")  # a bounded excerpt of the line
    assert len(info.value.excerpt) < 300


def test_over_long_line_raises_before_the_newline_arrives() -> None:
    # A stream must fail as soon as the cap is crossed, not buffer on.
    splitter = LineSplitter(1000)
    splitter.feed(b"x" * 1000)
    with pytest.raises(LineTooLongError):
        splitter.feed(b"x")


def test_cap_counts_one_line_not_the_whole_feed() -> None:
    lines = [b"y" * 90] * 50
    payload = b"\n".join(lines) + b"\n"
    assert split_lines([payload], LineSplitter(100)) == lines
    assert split_lines(_cut(payload, [45, 1000, 3001]), LineSplitter(100)) == lines


# -- cost ----------------------------------------------------------------------


def test_20_mb_line_in_64_kib_pieces_is_linear_in_time_and_memory() -> None:
    piece_size = 64 * 1024
    count = 20 * 1024 * 1024 // piece_size
    splitter = LineSplitter()
    timings: list[float] = []
    tracemalloc.start()
    try:
        for _ in range(count):
            piece = b"7," * (piece_size // 2)  # a fresh object, like a socket read
            start = time.perf_counter()
            assert splitter.feed(piece) == []
            timings.append(time.perf_counter() - start)
        (line,) = splitter.feed(b"0]}\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(line) == count * piece_size + 3
    # A quadratic buffer (re-joining, or bytes +=) makes late feeds copy
    # megabytes each (~17x the first feeds here); a linear one costs the same
    # per feed throughout.
    early, late = sum(timings[:20]), sum(timings[-20:])
    assert late < 4 * early + 0.02, (early, late)
    # The pieces plus one joined copy, not a multiple of the line.
    assert peak < 2.5 * len(line), peak
