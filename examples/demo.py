"""A tour of ollama_async: streaming chat, a whole answer, embeddings, a
pull with progress, and the model list.

Talks to the Ollama named by OLLAMA_HOST when one answers there; otherwise it
starts the built-in emulator (ollama_async.testing.FakeOllama) and says so.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import os
import time

from ollama_async import AsyncClient, OllamaError, Timeout


async def ollama_answers(host: str | None) -> bool:
    """Whether a real server answers at ``host`` (or OLLAMA_HOST)."""
    if host is None and not os.environ.get("OLLAMA_HOST"):
        return False
    async with AsyncClient(host, timeout=Timeout(connect=1, first_byte=2)) as client:
        try:
            await client.version()
        except OllamaError:
            return False
    return True


async def tour(client: AsyncClient, model: str) -> None:
    print(f"server {client.base_url}, version {(await client.version()).version}")

    print(f"\n-- streaming chat with {model}:")
    question = [{"role": "user", "content": "Why is the sky blue? One sentence."}]
    started = time.perf_counter()
    async with client.chat(model, messages=question, stream=True) as stream:
        async for part in stream:
            print(part.message.content, end="", flush=True)
            if part.done:
                seconds = time.perf_counter() - started
                print(f"\n   [{part.eval_count} tokens in {seconds:.2f}s]")

    print("\n-- the whole answer at once:")
    reply = await client.generate(model, "Name three primary colours.")
    print("  ", reply.response.strip())

    print("\n-- ten prompts at once:")
    prompts = [f"Give me a word that rhymes with {w}." for w in "abcdefghij"]
    replies = await asyncio.gather(*(client.generate(model, p) for p in prompts))
    print(
        f"   {len(replies)} answers, {sum(r.eval_count or 0 for r in replies)} tokens"
    )

    print("\n-- installed models:")
    for entry in (await client.list()).models:
        size = (entry.size or 0) / 1e9
        print(f"   {entry.model:<28} {size:6.1f} GB")


async def emulator_only(client: AsyncClient) -> None:
    """Steps that change the server's models: only run against the emulator."""
    print("\n-- pulling gemma3:1b:")
    async with client.pull("gemma3:1b", stream=True) as progress:
        async for line in progress:
            if line.total and line.completed == line.total:
                print(f"   {line.status}: {line.total / 1e6:.0f} MB done")
            elif not line.total:
                print(f"   {line.status}")

    print("\n-- embeddings:")
    vectors = await client.embed("nomic-embed-text", ["cat", "kitten", "car"])
    norms = [sum(x * x for x in v) ** 0.5 for v in vectors.embeddings]
    dims = len(vectors.embeddings[0])
    print(f"   {len(norms)} vectors of {dims} floats, norms {norms[0]:.3f}")


async def main() -> None:
    if await ollama_answers(None):
        async with AsyncClient() as client:
            models = (await client.list()).models
            if not models:
                print("Ollama answers but has no models; try `ollama pull llama3.2`.")
                return
            await tour(client, models[0].model)
        return

    from ollama_async.testing import FakeOllama

    print("No Ollama answered at OLLAMA_HOST; starting the built-in emulator.")
    async with (
        FakeOllama(tokens_per_second=150) as server,
        AsyncClient(server.url) as client,
    ):
        await tour(client, "llama3.2")
        await emulator_only(client)


if __name__ == "__main__":
    asyncio.run(main())
