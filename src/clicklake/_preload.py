"""Imported once by the process tree's fork server (`clicklake.tree`): what every child would load by itself.

Each child of `clicklake up` is forked from that server, so the imports and the enrichment data
(user-agent rules, the country database) are loaded once per run, not once per child: on a
busy 2-core machine that is seconds of start-up per child. Nothing here opens a file handle,
a connection or a thread that a child could inherit.
"""

from __future__ import annotations

import gc
import signal

import clicklake.alerts.metrics
import clicklake.collect.app
import clicklake.jobs
import clicklake.load.loader
import clicklake.realtime.serve
import clicklake.stages
import clicklake.web.app
from clicklake.collect import enrich

enrich.preload()

# A SIGTERM to the whole process group (`timeout`, systemd's default KillMode) must not end the fork
# server before its children: the supervisor learns their exit codes through it. It ends with the
# supervisor anyway (multiprocessing closes its pipe). Each child sets SIGTERM back to the default.
signal.signal(signal.SIGTERM, signal.SIG_IGN)

# What was loaded above lives as long as the run: out of the garbage collector's sight (its permanent
# generation, which every child inherits). A full collection in a child walked all of it: about 135,000
# objects, 80 ms on the 2-core development machine, during which an HTTP worker answered nobody (the
# tail of its latency). The children's own collections now walk only their own objects, and leave the
# preloaded pages shared with the fork server instead of writing to them.
gc.collect()
gc.freeze()

__all__ = ["clicklake"]
