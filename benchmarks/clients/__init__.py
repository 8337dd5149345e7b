"""Client adapters, one module per client, imported only by the worker that runs it.

Each module defines `Bench` with the same coroutine methods (see `_common`):
`start(url, connections)`, `stream(n) -> (lines, text)`, `chat(n) -> text`,
`embed(inputs) -> vectors`, `first_chunk(n) -> seconds`, `close()`.
The per-chunk work is identical in every adapter: count the line, keep
`message.content`, join once at the end. Nothing is imported here so that a
worker loads only the client it measures (import cost and RSS stay honest).
"""
