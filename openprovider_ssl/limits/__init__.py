"""Client-wide limits: rate, Openprovider's identical-call rule, the retry budget, maintenance.

``Limits`` is the front door every call passes through. It keeps the rules in memory for one
process, or, given a backend such as ``RedisLimits``, shares them with every process using it.
"""

from ._backend import LimitsBackend
from ._budgets import RetryBudget
from ._front import Limits
from ._redis.backend import RedisLimits

__all__ = ["Limits", "LimitsBackend", "RedisLimits", "RetryBudget"]
