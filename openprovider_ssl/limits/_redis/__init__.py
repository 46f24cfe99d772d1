"""The Redis backend of the limits: the same rules, shared by every process that uses the prefix.

``backend`` is the public ``RedisLimits`` (the connection and its keys), ``shared`` the limiter
one client binds from it, ``scripts`` the Lua that makes each step atomic in Redis.
"""
