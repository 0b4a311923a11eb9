"""Why ``streams.py`` writes its chunk loop twice (``traced_generator`` and
``traced_async_generator``): what one shared per-chunk function would cost.

Python cannot share a loop body between ``for`` and ``async for``; the one way to write the chunk
handling once is a function both loops call for every chunk. This counts, with callgrind, the
instructions per chunk of the real ``traced_generator`` calling an adapter's chunk reader, and of the
same generator handed a guarded function that calls the reader: one shared function per chunk, as
one loop body for both would be. Each runs in a child Python twice (10,000 and 110,000 chunks); the
difference / 100,000 is the per-chunk cost.

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


READERS: dict[str, Callable[[Any], bool]] = {"inline": reader, "shared function": guarded}


def child(loop: str, chunks: int) -> None:
    gc.disable()
    for _ in traced_generator(iter(range(chunks)), StreamCall(READERS[loop])):
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
                     / (LONG - SHORT) for loop in READERS}
    extra = per_chunk["shared function"] - per_chunk["inline"]
    lines = [f"chunk loop, instructions per chunk (callgrind; {time.strftime('%Y-%m-%d')}, Python "
             f"{sys.version.split()[0]}; ({LONG} - {SHORT} chunks) / {LONG - SHORT})", ""]
    lines += [f"{loop:<16} {value:>8,.0f}" for loop, value in per_chunk.items()]
    lines += ["", f"a shared per-chunk function adds {extra:,.0f} instructions a chunk "
                  f"({extra / per_chunk['inline']:.0%} of the inline loop)"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
