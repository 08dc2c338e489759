"""What `stream/nats.py` puts on the wire and reads back: its URI, headers, message ids, partition
state, and the few JetStream requests it makes below nats-py's API.

nats-py 2.16 has no call for a batched direct get (ADR-31, nats-server 2.11 or later): one
request `{"seq": S, "batch": N}` to `$JS.API.DIRECT.GET.<stream>` answers with up to N stored
messages from sequence S on (skipping purged ones), each with its sequence and timestamp in
headers, then a status message 204 "EOB" (or one 404 when there is nothing). That is the
backend's `read`: one round trip, and no consumer state on the server for a positional read.

The erasure log (`ErasedLog`, `with_tombstones`) is what lets a reader tell a record that an
erasure deleted from one that retention purged; see "Erasure" in `stream/nats.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

import msgspec
import nats.errors
import nats.js.errors
from nats.js import api

from clicklake.errors import ConfigError
from clicklake.stream.redact import tombstone

DEFAULT_NAME: Final = "clicklake"
_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def parse_uri(uri: str) -> tuple[str, str]:
    """`nats://host:port/NAME` → (server URL, stream name); `tls://` keeps TLS; NAME defaults to clicklake."""
    parts = urlsplit(uri)
    if parts.scheme not in ("nats", "tls") or not parts.netloc:
        raise ConfigError(f"stream URI {uri!r}: expected nats://host:port/NAME")
    name = parts.path.strip("/") or DEFAULT_NAME
    if not set(name) <= _NAME_CHARS or len(name) > 200:
        raise ConfigError(f"stream URI {uri!r}: the stream name {name!r} may hold only letters, digits and '-'")
    return f"{parts.scheme}://{parts.netloc}", name


@lru_cache(maxsize=4096)
def _epoch_ms_of_second(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1000


def timestamp_ms(text: str) -> int:
    """Unix milliseconds of a JetStream RFC 3339 timestamp (`2026-01-02T03:04:05.123456789Z`)."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return _epoch_ms_of_second(whole) + int((fraction + "000")[:3])


async def _request(nc: Any, stream: str, body: dict[str, Any], timeout: float) -> list[Any]:
    """Every message of one direct get answer, up to its end-of-batch or error status (not included).

    The messages are taken by a subscription callback rather than `next_msg`, which costs a
    timer and a future per message (measured: reads of 10,000 records were 5x slower).
    """
    out: list[Any] = []
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    single = "batch" not in body

    async def take(msg: Any) -> None:
        if done.done():
            return
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            out.append(msg)
            if single:
                done.set_result(None)
        elif status in ("204", "404"):
            done.set_result(None)
        elif status == "503":  # no stream of that name answers direct gets
            done.set_exception(nats.errors.NoRespondersError())
        else:
            done.set_exception(nats.errors.Error(f"direct get on {stream}: status {status} {msg.headers}"))

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=take)
    try:
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(body).encode(), reply=inbox)
        await asyncio.wait_for(done, timeout)
    finally:
        await sub.unsubscribe()
    return out


#: Header of every record: `<append time, Unix ms, the appender's clock> <percent-encoded key>`.
RECORD_HEADER: Final = "Clicklake-Record"
#: Characters kept as they are in the key; anything else (spaces, CR, LF, non-ASCII) is percent-encoded.
_KEY_SAFE: Final = "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~"


def record_header(key: str, append_ms: int) -> str:
    """The `Clicklake-Record` header value of a record.

    The append time is the appender's clock, as on the local stream, not the server's
    timestamp: lag ages and retention by age compare it with the reader's clock, and a
    server on another machine (or a test's shifted clock) would skew them.
    """
    return f"{append_ms} {quote(key, safe=_KEY_SAFE)}"


async def direct_get(nc: Any, stream: str, seq: int, batch: int, timeout: float) -> list[tuple[int, str, bytes, int]]:
    """Up to `batch` messages from sequence `seq` on: (sequence, key, payload, append time in ms)."""
    msgs = await _request(nc, stream, {"seq": seq, "batch": batch}, timeout)
    out: list[tuple[int, str, bytes, int]] = []
    for m in msgs:
        headers = m.headers
        record = headers.get(RECORD_HEADER)
        if record is None:  # not written by clicklake: the server's time, no key
            out.append((int(headers["Nats-Sequence"]), "", m.data, timestamp_ms(headers["Nats-Time-Stamp"])))
            continue
        ts, _, key = record.partition(" ")
        out.append((int(headers["Nats-Sequence"]), unquote(key), m.data, int(ts)))
    return out


async def first_seq_at(nc: Any, stream: str, first: int, last: int, at_ms: int, timeout: float) -> int:
    """The first sequence in `[first, last]` appended at or after `at_ms`; `last + 1` when none was.

    A binary search over the records' append times (one direct get per step): append times
    grow with the sequence, up to the clock differences of the appenders.
    """
    low, high = first, last + 1
    while low < high:
        mid = (low + high) // 2
        got = await direct_get(nc, stream, mid, 1, timeout)
        if not got:
            high = mid
        elif got[0][3] >= at_ms:
            high = min(mid, got[0][0])
        else:
            low = got[0][0] + 1
    return low


class _Ids(msgspec.Struct):
    site_id: str | None = None
    event_id: str | None = None


_decode_ids = msgspec.json.Decoder(_Ids).decode


def msg_id(payload: bytes) -> str | None:
    """`<site_id>:<event_id>` of an event record, None for anything without an event id."""
    if b'"event_id"' not in payload:
        return None
    try:
        ids = _decode_ids(payload)
    except msgspec.MsgspecError:
        return None
    return f"{ids.site_id}:{ids.event_id}" if ids.event_id else None


class PartitionState(msgspec.Struct):
    """One partition stream's state: sequences, bytes, and each group's ack floor (= committed offset)."""

    first_seq: int
    last_seq: int
    messages: int
    bytes: int
    floors: dict[str, int]
    pending: dict[str, int]

    def unread(self, group: str | None = None) -> int:
        floor = min(self.floors.values(), default=0) if group is None else self.floors.get(group, 0)
        return max(0, self.last_seq - max(floor, self.first_seq - 1))


class Publisher:
    """Publishes many messages with acknowledgements in flight at once, in order on one connection.

    Written by hand because nats-py 2.16's `publish_async` loses a refusal: its reply handler
    raises the server's error (`maximum messages exceeded`, ...) inside the subscription
    callback instead of setting it on the future, so the caller only ever sees a timeout and
    could not tell a full stream (503 + Retry-After) from a dead one.
    """

    def __init__(self, nc: Any) -> None:
        self._nc = nc
        self._prefix = ""
        self._futures: dict[str, asyncio.Future[int]] = {}
        self._counter = 0

    async def _reply(self, msg: Any) -> None:
        future = self._futures.pop(msg.subject[len(self._prefix) + 1 :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":
            future.set_exception(nats.errors.NoRespondersError())
            return
        try:
            answer = json.loads(msg.data)
        except ValueError:
            future.set_exception(nats.errors.Error(f"unreadable publish acknowledgement {msg.data[:200]!r}"))
            return
        error = answer.get("error")
        if error:
            future.set_exception(
                nats.js.errors.APIError(
                    code=error.get("code"), description=error.get("description"), err_code=error.get("err_code")
                )
            )
        else:
            future.set_result(int(answer["seq"]))

    async def publish(self, messages: list[tuple[str, bytes, dict[str, str]]], timeout: float) -> list[int]:
        """The stream sequence of each message once every one is acknowledged; the first failure is raised."""
        if not self._prefix:
            self._prefix = self._nc.new_inbox()
            await self._nc.subscribe(f"{self._prefix}.*", cb=self._reply)
        loop = asyncio.get_running_loop()
        tokens: list[str] = []
        futures: list[asyncio.Future[int]] = []
        try:
            for subject, payload, headers in messages:
                self._counter += 1
                token = str(self._counter)
                future: asyncio.Future[int] = loop.create_future()
                self._futures[token] = future
                tokens.append(token)
                futures.append(future)
                await self._nc.publish(subject, payload, reply=f"{self._prefix}.{token}", headers=headers)
            results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), timeout)
        finally:
            for token in tokens:
                self._futures.pop(token, None)
            for future in futures:
                future.cancel()
        seqs: list[int] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            seqs.append(result)
        return seqs


#: A message as `direct_get` returns it: (sequence, key, payload, append time in Unix ms).
Message = tuple[int, str, bytes, int]
#: JetStream's error code for a message delete whose sequence is not in the stream (any more).
SEQUENCE_NOT_FOUND: Final = 10043


async def erase_msg(nc: Any, stream: str, seq: int, timeout: float) -> bool:
    """Delete message `seq` of `stream` with JetStream's secure erase; False when it was not there (any more).

    `"no_erase": false` is the server's default, said here in so many words: the file store
    overwrites the message's record with random bytes (on disk and in its cache) before it
    forgets it, where `"no_erase": true` would only mark it deleted.
    """
    body = json.dumps({"seq": seq, "no_erase": False}).encode()
    reply = await nc.request(f"$JS.API.STREAM.MSG.DELETE.{stream}", body, timeout=timeout)
    answer = json.loads(reply.data)
    error = answer.get("error")
    if error:
        if error.get("err_code") == SEQUENCE_NOT_FOUND:
            return False
        raise nats.js.errors.APIError(
            code=error.get("code"), description=error.get("description"), err_code=error.get("err_code")
        )
    return bool(answer.get("success"))


class ErasedEntry(msgspec.Struct, frozen=True):
    """One message of the erasure log: records of one partition that one erasure deletes."""

    stream_id: str
    partition: int
    site_id: str | None
    #: (sequence, append time in Unix ms) of each record
    records: list[tuple[int, int]]


_encode_entry = msgspec.json.Encoder().encode
_decode_entry = msgspec.json.Decoder(ErasedEntry).decode


class ErasedLog:
    """The erasure log of the clicklake stream NAME: JetStream stream `NAME_erased`, subject `NAME.erased`.

    Created by the first erasure. It holds sequence numbers, append times and site ids, nothing
    of a person. An entry names the stream's id, so a stream deleted and created again under
    the same name does not take the old entries for its own. This object is what one process has
    read of it; its coroutines run on the `NatsStream`'s event loop, one at a time.
    """

    def __init__(self, name: str, stream_id: str) -> None:
        self.stream, self.subject = f"{name}_erased", f"{name}.erased"
        self.stream_id = stream_id
        self.read_at = float("-inf")  # monotonic time of the last refresh
        self._seqs: dict[int, dict[int, tuple[str | None, int]]] = {}
        self._next = 1  # the next log sequence to read

    def of(self, partition: int) -> Mapping[int, tuple[str | None, int]]:
        """The erased sequences of `partition` known here: sequence -> (site id, append time in ms)."""
        return self._seqs.get(partition, {})

    async def add(self, js: Any, partition: int, site_id: str, records: list[tuple[int, int]]) -> None:
        """Append one entry (the log created first if it is missing); returns once JetStream has stored it."""
        try:
            await js.stream_info(self.stream)
        except nats.js.errors.NotFoundError:
            config = api.StreamConfig(
                name=self.stream,
                description=f"clicklake stream {self.stream.removesuffix('_erased')}: the records erasures deleted",
                subjects=[self.subject],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                allow_direct=True,
            )
            with contextlib.suppress(nats.js.errors.BadRequestError):  # another erasure created it first
                await js.add_stream(config)
        entry = ErasedEntry(self.stream_id, partition, site_id, records)
        await js.publish(self.subject, _encode_entry(entry), stream=self.stream)

    async def refresh(self, nc: Any, timeout: float, batch: int = 256) -> None:
        """Read the entries added since the last refresh (none when there is no log yet)."""
        while True:
            try:
                msgs = await _request(nc, self.stream, {"seq": self._next, "batch": batch}, timeout)
            except nats.errors.NoRespondersError:
                msgs = []  # no erasure has made the log yet
            for m in msgs:
                self._next = int(m.headers["Nats-Sequence"]) + 1
                try:
                    entry = _decode_entry(m.data)
                except msgspec.MsgspecError:
                    continue  # not written by clicklake
                if entry.stream_id == self.stream_id:
                    known = self._seqs.setdefault(entry.partition, {})
                    for seq, append_ms in entry.records:
                        known[seq] = (entry.site_id, append_ms)
            if len(msgs) < batch:
                break
        self.read_at = time.monotonic()


def explained(start: int, got: list[Message], erased: Mapping[int, object]) -> bool:
    """Whether every sequence missing from `got` (a direct get from `start` on) is in `erased`."""
    if not got or (got[0][0] == start and got[-1][0] - start + 1 == len(got)):
        return True
    expect = start
    for m in got:
        if any(s not in erased for s in range(expect, m[0])):
            return False
        expect = m[0] + 1
    return True


def with_tombstones(
    start: int, got: list[Message], erased: Mapping[int, tuple[str | None, int]], limit: int, *, ended: bool
) -> list[Message]:
    """`got` (a direct get from `start` on) with an erased record's tombstone at each sequence `erased` names.

    Before the first message, only the erased sequences just before it are filled: anything
    below them was purged by retention, and stays a gap the reader sees. Between messages, a
    gap that is not all erased ends the answer before it, so that the next read starts at
    it and sees it. After the last message (`ended`: nothing more was there), the erased
    sequences that follow it are filled. At most `limit` messages.
    """
    if got and got[0][0] == start and got[-1][0] - start + 1 == len(got) and not (ended and got[-1][0] + 1 in erased):
        return got  # no gap, nothing erased at the end: the usual read
    out: list[Message] = []

    def fill(first: int, end: int) -> None:
        for seq in range(first, min(end, first + limit - len(out))):
            site_id, append_ms = erased[seq]
            out.append((seq, "", tombstone(site_id), append_ms))

    expect = start
    for m in got:
        seq = m[0]
        if seq > expect:
            run = seq
            while run > expect and run - 1 in erased:
                run -= 1
            if run > expect and out:
                return out  # a gap that is not an erasure's: the next read starts at it
            fill(run, seq)
        if len(out) >= limit:
            return out
        out.append(m)
        expect = seq + 1
    if ended:
        end = expect
        while end in erased:
            end += 1
        fill(expect, end)
    return out[:limit]
