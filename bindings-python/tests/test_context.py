"""The identity context: nesting, asyncio concurrency, thread pools, generators, and never
crossing between concurrent requests."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import random
import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import ALICE, Scenario
from runtime_identity import Credential, Identity, NoIdentityContext, Scope, acting_as, current_identity, guard


def agents(s: Scenario, n: int) -> list[Credential]:
    """`n` agents, each with its own grant for its own customer."""
    creds = []
    for i in range(n):
        agent = f"agent:acme/worker-{i}"
        s.rt.register_agent(agent, owner=ALICE)
        creds.append(s.rt.delegate(to=agent, on_behalf_of=ALICE, scopes=Scope("crm.read", resources=[f"customer/{i}"])))
    return creds


@guard("crm.read", resource="customer/{cid}")
def whoami(cid: str) -> str | None:
    ident = current_identity()
    assert ident is not None and isinstance(ident.credential, Credential)
    return ident.credential.actor


def test_nested_identities_restore_the_outer_one(scenario: Scenario) -> None:
    outer, inner = agents(scenario, 2)
    assert current_identity() is None
    with acting_as(outer):
        assert whoami("0") == "agent:acme/worker-0"
        with acting_as(inner):
            assert whoami("1") == "agent:acme/worker-1"
        assert whoami("0") == "agent:acme/worker-0"
    assert current_identity() is None
    ctx = acting_as(outer)
    with ctx, ctx:  # the same object entered twice nests too
        pass
    assert current_identity() is None


def test_a_thousand_interleaved_asyncio_tasks_never_cross(scenario: Scenario) -> None:
    creds = agents(scenario, 20)

    @guard("crm.read", resource="customer/{cid}")
    async def read(cid: str) -> str | None:
        for _ in range(3):
            await asyncio.sleep(random.random() / 1000)
        ident = current_identity()
        assert ident is not None and isinstance(ident.credential, Credential)
        return ident.credential.actor

    async def request(i: int) -> tuple[int, str | None]:
        k = i % len(creds)
        async with acting_as(creds[k]):
            await asyncio.sleep(random.random() / 1000)
            # Gathered sub-tasks inherit the identity.
            got = await asyncio.gather(read(str(k)), read(str(k)))
            assert got[0] == got[1]
            return k, got[0]

    async def main() -> list[tuple[int, str | None]]:
        return await asyncio.gather(*(request(i) for i in range(1000)))

    results = asyncio.run(main())
    assert all(actor == f"agent:acme/worker-{k}" for k, actor in results)
    assert len(scenario.rt.audit.events(type="decision", effect="allow")) == 2000


def test_a_thread_pool_serving_interleaved_requests(scenario: Scenario) -> None:
    creds = agents(scenario, 8)
    barrier = threading.Barrier(4)

    def serve(k: int) -> str | None:
        with acting_as(creds[k]):
            try:
                barrier.wait(timeout=0.2)  # overlap the requests
            except threading.BrokenBarrierError:
                pass
            return whoami(str(k))

    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(serve, [i % 8 for i in range(400)]))
    assert got == [f"agent:acme/worker-{i % 8}" for i in range(400)]
    # Nothing is left behind in the pool's threads.
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(v is None for v in pool.map(lambda _: current_identity(), range(8)))


def test_run_in_executor_and_copy_context(scenario: Scenario) -> None:
    (cred,) = agents(scenario, 1)

    async def main() -> str | None:
        async with acting_as(cred):
            loop = asyncio.get_running_loop()
            # run_in_executor does not copy the context by itself; copy_context does.
            ctx = contextvars.copy_context()
            return await loop.run_in_executor(None, ctx.run, whoami, "0")

    assert asyncio.run(main()) == "agent:acme/worker-0"
    with acting_as(cred):
        ctx = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(ctx.run, whoami, "0").result() == "agent:acme/worker-0"
        with pytest.raises(NoIdentityContext):
            pool.submit(whoami, "0").result()


def test_generators_keep_the_identity_they_were_made_with(scenario: Scenario) -> None:
    a, b = agents(scenario, 2)

    def reader(cid: str) -> Iterator[str | None]:
        # A plain generator iterated inside the block sees the block's identity.
        yield whoami(cid)

    with acting_as(a):
        assert list(reader("0")) == ["agent:acme/worker-0"]

    @guard("crm.read", resource="customer/{cid}")
    def rows(cid: str) -> Iterator[int]:
        yield from range(2)

    with acting_as(a):
        g = rows("0")
    with acting_as(b):
        assert list(g) == [0, 1]  # checked as worker-0, who made it
    d = scenario.rt.audit.events(type="decision")[-1]
    assert d["actor"] == "agent:acme/worker-0" and d["effect"] == "allow"


def test_acting_as_refuses_junk() -> None:
    with pytest.raises(TypeError):
        acting_as(None)  # type: ignore[arg-type]


def test_identity_is_a_frozen_value(scenario: Scenario) -> None:
    # Its own __init__ (the hot path makes one per block) keeps the dataclass behaviour.
    cred = scenario.cred
    with acting_as(cred, context={"txn": "t1"}) as ident:
        assert current_identity() is ident
    assert (ident.credential, ident.runtime, ident.context) == (cred, None, {"txn": "t1"})
    assert ident == Identity(cred, None, {"txn": "t1"}) and ident != Identity(cred)
    assert dataclasses.replace(ident, context=None) == Identity(credential=cred)
    assert [f.name for f in dataclasses.fields(Identity)] == ["credential", "runtime", "context"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ident.credential = "other"  # type: ignore[misc]
    assert repr(Identity("a.b.c")) == "Identity('<token>')"


def test_an_identity_set_inside_a_generator_is_not_in_force_between_items(scenario: Scenario) -> None:
    """`with acting_as(x): yield …` inside a generator: the consumer runs between `next()` calls
    in the same context, so without a check it would act as `x` (issue 16, item 15)."""
    admin, user = agents(scenario, 2)

    def as_admin() -> Generator[str | None, None, None]:
        with acting_as(admin):
            yield whoami("0")  # inside the generator: its own identity
            yield whoami("0")

    with acting_as(user):
        g = as_admin()
        assert next(g) == "agent:acme/worker-0"
        with pytest.raises(NoIdentityContext, match="generator") as e:
            whoami("1")  # the consumer, between items: never as admin
        assert e.value.code == "no_identity_context" and "as_admin" in str(e.value)
        assert next(g) == "agent:acme/worker-0"
        assert list(g) == []
        assert whoami("1") == "agent:acme/worker-1"  # the block ended: the consumer's own again
    g = as_admin()
    next(g)
    with pytest.raises(NoIdentityContext):
        whoami("0")
    g.close()
    assert current_identity() is None


def test_an_async_generator_is_held_to_the_same_rule(scenario: Scenario) -> None:
    admin, user = agents(scenario, 2)

    @guard("crm.read", resource="customer/{cid}")
    async def read(cid: str) -> str | None:
        ident = current_identity()
        assert ident is not None and isinstance(ident.credential, Credential)
        return ident.credential.actor

    async def as_admin() -> Any:
        async with acting_as(admin):
            yield [await read("0"), whoami("0")]
            # A task started here is not the generator running: it enters its own block.
            with pytest.raises(NoIdentityContext):
                await asyncio.gather(read("0"))
            yield await read("0")

    async def main() -> list[Any]:
        out: list[Any] = []
        async with acting_as(user):
            agen = as_admin()
            out.append(await agen.__anext__())
            with pytest.raises(NoIdentityContext, match="generator"):
                await read("1")
            out.append(await agen.__anext__())
            await agen.aclose()
            out.append(await read("1"))
        return out

    assert asyncio.run(main()) == [["agent:acme/worker-0"] * 2, "agent:acme/worker-0", "agent:acme/worker-1"]


def test_context_manager_helpers_built_on_generators_still_work(scenario: Scenario) -> None:
    import contextlib

    (a,) = agents(scenario, 1)

    @contextlib.contextmanager
    def as_worker() -> Iterator[None]:
        with acting_as(a):
            yield

    @contextlib.asynccontextmanager
    async def aas_worker() -> Any:
        async with acting_as(a):
            yield

    with as_worker():
        assert whoami("0") == "agent:acme/worker-0"
    with contextlib.ExitStack() as stack:
        stack.enter_context(acting_as(a))
        assert whoami("0") == "agent:acme/worker-0"

    async def main() -> str | None:
        async with aas_worker():
            return whoami("0")

    assert asyncio.run(main()) == "agent:acme/worker-0"

    # But a helper entered inside a generator that yields is that generator's identity.
    def leaky() -> Generator[int, None, None]:
        with as_worker():
            yield 1

    g = leaky()
    next(g)
    with pytest.raises(NoIdentityContext):
        whoami("0")
    g.close()


def test_a_generator_resumed_in_another_context_ends_its_block_loudly(scenario: Scenario) -> None:
    (a,) = agents(scenario, 1)

    def gen() -> Generator[int, None, None]:
        with acting_as(a):
            yield 1

    def body() -> None:
        g = gen()
        next(g)  # entered in this context
        with pytest.raises(NoIdentityContext, match="another context"):
            contextvars.copy_context().run(next, g)  # ...ended in a copy
        # The identity it left in this context is still refused: its generator is gone.
        with pytest.raises(NoIdentityContext):
            whoami("0")

    contextvars.copy_context().run(body)  # what it leaves behind stays in that context
    assert current_identity() is None
