"""The shared limiter over TLS and on a Redis Cluster, against private ``redis-server`` processes.

Every Redis user of the gateway (limiter, idempotency store, auth-failure limits, revocations,
event streams, the ERP concurrency cap) is also run against TLS and a Cluster by its own tests
(``any_redis_url`` / the parametrised backends); these check what only these deployments have:
a TLS server whose certificate is not from a trusted CA is refused, and a cluster client
follows a slot that moved to another node, which the single-connection pipelined client of
plain ``redis://`` cannot.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import pytest

from core.resp import PipelinedRedis, RedisReplyError
from policies.rate_limit_backends import RedisRateLimitBackend, parse_limits

FIVE = parse_limits(("5/minute",))


async def _admitted(backends: list[RedisRateLimitBackend], key: str, attempts: int) -> int:
    answers = await asyncio.gather(*(backends[n % len(backends)].admit(key, FIVE, 1) for n in range(attempts)))
    return sum(answer.allowed for answer in answers)


async def test_over_tls_two_processes_count_exactly_and_an_untrusted_server_is_refused(redis_tls_url: str) -> None:
    prefix = f"strata:rl:tls:{uuid.uuid4().hex}:"
    backends = [RedisRateLimitBackend(redis_tls_url, key_prefix=prefix, socket_timeout=2.0) for _ in range(2)]
    try:
        assert await _admitted(backends, "client-a", 12) == 5  # in total, not per process
    finally:
        for backend in backends:
            await backend.aclose()
    # The same server without its CA: the certificate does not verify against the system's CAs.
    # (A generous timeout: on a loaded machine the handshake alone may outlast the default 0.25 s.)
    untrusted = RedisRateLimitBackend(redis_tls_url.split("?")[0], key_prefix=prefix, socket_timeout=5.0)
    try:
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusted.admit("client-a", FIVE, 1)
    finally:
        await untrusted.aclose()


def _cli(port: int, *command: str) -> str:
    done = subprocess.run(["redis-cli", "-p", str(port), *command], capture_output=True, text=True, timeout=5)
    return done.stdout.strip()


async def test_on_a_cluster_counters_follow_a_slot_that_moved_to_another_node(redis_cluster_url: str) -> None:
    nodes = _cluster_nodes(_first(redis_cluster_url))
    ports = list(nodes)
    prefix = f"strata:rl:cluster:{uuid.uuid4().hex}:"
    backend = RedisRateLimitBackend(redis_cluster_url, key_prefix=prefix, socket_timeout=2.0)
    try:
        assert await _admitted([backend], "warm-up", 1) == 1  # the client has learnt the slot map
        key = "moved-client"
        slot = int(_cli(ports[0], "CLUSTER", "KEYSLOT", key))
        owner = next(p for p in ports if _owns(p, slot))
        other = next(p for p in ports if p != owner)
        for port in ports:  # the slot is empty: hand it to another node without migrating keys
            assert _cli(port, "CLUSTER", "SETSLOT", str(slot), "NODE", nodes[other]) == "OK"
        assert await _admitted([backend], key, 1) == 1  # the stale map meets MOVED and follows it
        assert await _admitted([backend], key, 6) == 4  # exactly: 5 in all
        assert _cli(other, "CLUSTER", "COUNTKEYSINSLOT", str(slot)) == "1"  # counted on the new owner
        assert _cli(owner, "CLUSTER", "COUNTKEYSINSLOT", str(slot)) == "0"
        # What plain redis:// would do: the pipelined client talks to one node and gets MOVED back.
        single = PipelinedRedis(f"redis://127.0.0.1:{owner}", timeout=1.0)
        try:
            with pytest.raises(RedisReplyError, match="MOVED"):
                await single.call("INCR", f"{prefix}{{{key}}}:x")
        finally:
            await single.aclose()
    finally:
        await backend.aclose()


def _cluster_nodes(port: int) -> dict[int, str]:
    """Port → node id of every node, from ``CLUSTER NODES``."""
    nodes = {}
    for line in _cli(port, "CLUSTER", "NODES").splitlines():
        node_id, address = line.split()[:2]
        nodes[int(address.split("@")[0].rsplit(":", 1)[1])] = node_id
    return nodes


def _first(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _owns(port: int, slot: int) -> bool:
    for line in _cli(port, "CLUSTER", "NODES").splitlines():
        fields = line.split()
        if "myself" not in fields[2]:
            continue
        for part in fields[8:]:
            low, _, high = part.partition("-")
            if low.isdigit() and int(low) <= slot <= int(high or low):
                return True
    return False
