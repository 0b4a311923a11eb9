"""Why ``streams.py`` writes its chunk loop twice (``traced_generator`` and
``traced_async_generator``): what one shared per-chunk function would cost.

Python cannot share a loop body between ``for`` and ``async for``; the one way to write the chunk
handling once is a function both loops call for every chunk. This counts, with callgrind, the
instructions per chunk of the real ``traced_generator`` calling an adapter's chunk reader, and of the
same generator handed a guarded function that calls the reader: one shared function per chunk, as
one loop body for both would be. A third line is llmledger's whole per-chunk work on a real stream:
the same generator with the OpenAI adapter's chunk reader over parsed ``ChatCompletionChunk`` objects
(one thread, no SDK parsing in the count: the figure issue 16 bounds at 2,000). ``bare`` is the
user's loop alone, taken off the others in the summary. Each runs in a child Python twice (10,000
and 110,000 chunks); the difference / 100,000 is the per-chunk cost.

Run: ``.venv/bin/python benchmarks/bench_chunk_loop.py`` (needs valgrind; about a minute; writes
benchmarks/results/chunk_loop.txt).
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmledger.instrumentation.streams import traced_generator

RESULTS = Path(__file__).parent / "results" / "chunk_loop.txt"
SHORT, LONG = 10_000, 110_000


def reader(chunk: Any) -> bool:
    """Stands for an adapter's chunk reader: looks, hides nothing."""
    return False


def guarded(chunk: Any) -> bool:
    """The shared per-chunk function: the reader and its guard."""
    try:
        return reader(chunk)
    except Exception:
        return False


class StreamCall:
    """The part of the lifecycle's ``Call`` a chunk loop uses."""

    def __init__(self, read: Callable[[Any], bool]) -> None:
        self.read = read

    def on_chunk(self, chunk: Any) -> bool:
        return self.read(chunk)

    def first_chunk(self) -> Callable[[Any], bool]:
        return self.read

    def reader_failed(self) -> None:
        pass

    def finish_stream(self, error: BaseException | None = None) -> None:
        pass


def openai_chunks(count: int) -> tuple[Callable[[Any], bool], list[Any]]:
    """The OpenAI adapter's chunk reader for a streamed chat call, and ``count`` content chunks."""
    sys.path.insert(0, str(Path(__file__).parent))
    from openai.types.chat import ChatCompletionChunk

    import bench_overhead as bench
    from llmledger.instrumentation.providers.openai import ADAPTER

    target = ADAPTER.targets[0]
    request = ADAPTER.request_info(target, bench.sync_client().chat.completions, (),
                                   {"model": "gpt-4o", "messages": bench.MSG, "stream": True})
    chunk = ChatCompletionChunk.model_validate({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": {"content": "token"}, "finish_reason": None}]})
    return ADAPTER.stream_handler(target, request).on_chunk, [chunk] * count


READERS: dict[str, Callable[[Any], bool]] = {"inline": reader, "shared function": guarded}
LOOPS = ("bare", *READERS, "openai chunk")


def child(loop: str, chunks: int) -> None:
    if loop == "openai chunk":
        read, source = openai_chunks(chunks)
    else:
        read, source = READERS.get(loop, reader), list(range(chunks))
    gc.disable()
    for _ in iter(source) if loop == "bare" else traced_generator(iter(source), StreamCall(read)):
        pass


def count(loop: str, chunks: int, out: Path) -> int:
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                    "--child", loop, str(chunks)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    match = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
    assert match is not None, f"no instruction count in {out}"
    return int(match.group(1))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        per_chunk = {loop: (count(loop, LONG, Path(tmp) / "long") - count(loop, SHORT, Path(tmp) / "short"))
                     / (LONG - SHORT) for loop in LOOPS}
    extra = per_chunk["shared function"] - per_chunk["inline"]
    own = per_chunk["openai chunk"] - per_chunk["bare"]
    lines = [f"chunk loop, instructions per chunk (callgrind; {time.strftime('%Y-%m-%d')}, Python "
             f"{sys.version.split()[0]}; ({LONG} - {SHORT} chunks) / {LONG - SHORT})", ""]
    lines += [f"{loop:<16} {value:>8,.0f}" for loop, value in per_chunk.items()]
    lines += ["", f"a shared per-chunk function adds {extra:,.0f} instructions a chunk "
                  f"({extra / per_chunk['inline']:.0%} of the inline loop)",
              f"llmledger's work per chunk of a real OpenAI stream (openai chunk - bare): {own:,.0f} "
              f"(with a shared function: {own + extra:,.0f}; target <= 2,000)"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
