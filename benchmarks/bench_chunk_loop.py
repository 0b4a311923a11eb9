"""Why ``streams.py`` writes its chunk loop twice (``traced_generator`` and
``traced_async_generator``): what one shared per-chunk function would cost.

Python cannot share a loop body between ``for`` and ``async for``; the one way to write the chunk
handling once is a function both loops call for every chunk. This counts, with callgrind, the
instructions per chunk of a generator shaped like ``traced_generator`` (the adapter's reader called
inline, guarded) and of the same generator calling one shared, guarded function per chunk. Each runs
in a child Python twice (10,000 and 110,000 chunks); the difference / 100,000 is the per-chunk cost.

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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "chunk_loop.txt"
SHORT, LONG = 10_000, 110_000


def reader(chunk: Any) -> bool:
    """Stands for an adapter's chunk reader: looks, hides nothing."""
    return False


def inline(source: Iterable[Any]) -> Iterator[Any]:
    read: Callable[[Any], bool] | None = reader
    for chunk in source:
        if read is not None:
            try:
                if read(chunk):
                    continue
            except Exception:
                read = None
        yield chunk


def guarded(chunk: Any) -> bool:
    try:
        return reader(chunk)
    except Exception:
        return False


def shared(source: Iterable[Any]) -> Iterator[Any]:
    for chunk in source:
        if guarded(chunk):
            continue
        yield chunk


LOOPS: dict[str, Callable[[Iterable[Any]], Iterator[Any]]] = {"inline": inline, "shared function": shared}


def child(loop: str, chunks: int) -> None:
    gc.disable()
    for _ in LOOPS[loop](range(chunks)):
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
