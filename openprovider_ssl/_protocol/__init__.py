"""The sans-I/O protocol: what a call is and what an answer means, with no I/O at all.

``messages`` builds requests and reads answers (the envelope, the error codes, ``Retry-After``),
``converter`` structures answers into the models and back, ``validation`` checks input before
anything is sent. Nothing here imports aiohttp or asyncio (a test keeps it so), so every rule
is tested without an event loop.
"""
