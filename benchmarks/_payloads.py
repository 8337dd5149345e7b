"""Wire bytes shared by the bench server and the checks in the workers.

Everything here is shaped like Ollama's own output (docs: ollama-api.md §2-§4):
compact JSON, `created_at` with nine fractional digits, metrics in nanoseconds,
the final line carrying `done_reason` and the metrics. Lines are pre-encoded
once so the server spends its CPU on `write()`, never on JSON.

Stdlib only: workers import this for the expected text without paying for
anything a client under test would not load itself.
"""

from __future__ import annotations

import json
import random
import struct
from functools import cache

MODEL = "bench"
CREATED_AT = "2026-11-26T08:00:00.123456789Z"
EMBED_DIM = 768

# Short words as a tokenizer emits them, a few non-ASCII ones so UTF-8 decoding
# is exercised. Varying tokens (rather than one repeated "tok ") let the result
# check catch a dropped, duplicated or reordered chunk.
TOKENS: tuple[str, ...] = tuple(
    [f"w{i:02d} " for i in range(60)] + ["café ", "naïve ", "→ ", "日本 "]
)

# Metrics of the final line; values are arbitrary but realistic in size.
_METRICS = (
    '"total_duration":4883583458,"load_duration":1334875,'
    '"prompt_eval_count":26,"prompt_eval_duration":342546000'
)


def _json_str(text: str) -> str:
    # Go writes UTF-8 raw and escapes only what JSON requires (plus <>&, unused).
    return json.dumps(text, ensure_ascii=False)


def expected_text(n: int) -> str:
    """What a client must have joined after `n` content chunks."""
    k = len(TOKENS)
    full, rest = divmod(n, k)
    return "".join(TOKENS) * full + "".join(TOKENS[:rest])


_HEAD = f'{{"model":"{MODEL}","created_at":"{CREATED_AT}",'


def chunk_line(kind: str, token: str) -> bytes:
    """One streamed NDJSON line (with its `\\n`) for chat or generate."""
    if kind == "chat":
        body = f'"message":{{"role":"assistant","content":{_json_str(token)}}}'
    else:
        body = f'"response":{_json_str(token)}'
    return f'{_HEAD}{body},"done":false}}\n'.encode()


def final_object(kind: str, n: int, content: str = "") -> bytes:
    """The last line (streaming) or the whole body (stream:false), no newline."""
    if kind == "chat":
        body = f'"message":{{"role":"assistant","content":{_json_str(content)}}}'
    else:
        body = f'"response":{_json_str(content)}'
    tail = f'"eval_count":{n},"eval_duration":{n * 21_500_000}'
    return (
        f'{_HEAD}{body},"done":true,"done_reason":"stop",{_METRICS},{tail}}}'
    ).encode()


def _float32_text(x: float) -> str:
    # Shortest text that round-trips through float32, as Go's encoder writes
    # `[]float32` (embeddings are float32 in the server).
    x32 = struct.unpack("f", struct.pack("f", x))[0]
    for digits in range(6, 10):
        text = f"{x32:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == x32:
            return text
    return repr(x32)


@cache
def embedding_texts(index: int) -> tuple[str, ...]:
    """Vector number `index` (L2-normalised, deterministic) as JSON numbers."""
    rng = random.Random(index)
    raw = [rng.gauss(0.0, 1.0) for _ in range(EMBED_DIM)]
    norm = sum(v * v for v in raw) ** 0.5
    return tuple(_float32_text(v / norm) for v in raw)


def embed_body(count: int) -> bytes:
    vectors = ",".join("[" + ",".join(embedding_texts(i)) + "]" for i in range(count))
    return (
        f'{{"model":"{MODEL}","embeddings":[{vectors}],'
        f'"total_duration":14143917,"load_duration":1019500,'
        f'"prompt_eval_count":{8 * count}}}'
    ).encode()


def embed_probe(count: int) -> list[tuple[int, int, float]]:
    """A few (vector, dim, value) points a worker checks after decoding."""
    points = [(0, 0), (count - 1, EMBED_DIM - 1), (count // 2, EMBED_DIM // 3)]
    return [(i, j, float(embedding_texts(i)[j])) for i, j in points]
