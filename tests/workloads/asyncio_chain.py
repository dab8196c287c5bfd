"""asyncio.run of a four-level await chain whose leaves yield to the event
loop with asyncio.sleep(0), two chains run concurrently with gather, and an
async generator consumed with async for. Every resumption of a coroutine is
a call for cProfile."""

import asyncio


async def leaf(i):
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return i * 2


async def middle(i):
    first = await leaf(i)
    await asyncio.sleep(0)
    second = await leaf(i + 1)
    return first + second


async def upper(n):
    total = 0
    for i in range(n):
        total += await middle(i)
    return total


async def ticker(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def consume(n):
    seen = 0
    async for value in ticker(n):
        seen += value
    return seen


async def top():
    chain = await upper(6)
    both = await asyncio.gather(upper(4), upper(3))
    ticks = await consume(8)
    return chain, both, ticks


def main():
    result = asyncio.run(top())
    print("asyncio", result)


if __name__ == "__main__":
    main()
