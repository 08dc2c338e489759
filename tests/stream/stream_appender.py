"""Append batches to a stream until killed or `seconds` pass; print each acknowledged batch.

    python stream_appender.py URI WRITER SECONDS

URI is anything `open_stream` takes (a local path, `nats://host:port/NAME`).

Each stdout line is `WRITER BATCH p:o p:o ...`, written and flushed only after `append`
returned, one pair per record in batch order; record j of batch b of writer w has key
`k{(b * 100 + j) % 37}` and the payload `payload(w, b, j)`. Used by test_stream_durability.py.
"""

from __future__ import annotations

import sys
import time

from clicklake.stream import open_stream

BATCH = 100


def payload(writer: str, batch: int, j: int) -> bytes:
    """The payload of record j of a batch: unique per writer, batch and index, a few hundred bytes."""
    return f'{{"writer":"{writer}","batch":{batch},"j":{j},"pad":"{"x" * (j % 50) * 8}"}}'.encode()


def main() -> None:
    uri, writer, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    stream = open_stream(uri, partitions=4, max_bytes=None, max_lag_records=None)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < deadline:
        acks = stream.append([(f"k{(batch * BATCH + j) % 37}", payload(writer, batch, j)) for j in range(BATCH)])
        sys.stdout.write(f"{writer} {batch} " + " ".join(f"{p}:{o}" for p, o in acks) + "\n")
        sys.stdout.flush()
        batch += 1
    stream.close()


if __name__ == "__main__":
    main()
