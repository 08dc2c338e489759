"""What `stream/nats.py` puts on the wire and reads back: its URI, headers, message ids, partition
state, and the few JetStream requests it makes below nats-py's API.

nats-py 2.16 has no call for a batched direct get (ADR-31, nats-server 2.11 or later): one
request `{"seq": S, "batch": N}` to `$JS.API.DIRECT.GET.<stream>` answers with up to N stored
messages from sequence S on (skipping purged ones), each with its sequence and timestamp in
headers, then a status message 204 "EOB" (or one 404 when there is nothing). That is the
backend's `read`: one round trip, and no consumer state on the server for a positional read.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

import msgspec
import nats.errors
import nats.js.errors

from clicklake.errors import ConfigError

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
