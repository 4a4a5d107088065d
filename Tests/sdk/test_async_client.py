"""The async client shares the transport rules; concurrent calls must not interfere."""
import asyncio

from openai import AsyncOpenAI


def test_async_client_concurrent_creates(runnel):
    async def main():
        client = AsyncOpenAI(base_url=runnel.base_url, api_key="k", max_retries=0)
        threads = await asyncio.gather(*(client.beta.threads.create(metadata={"i": str(i)}) for i in range(50)))
        assert len({t.id for t in threads}) == 50
        fetched = await asyncio.gather(*(client.beta.threads.retrieve(t.id) for t in threads))
        assert [f.metadata for f in fetched] == [{"i": str(i)} for i in range(50)]
        await client.close()

    asyncio.run(main())
