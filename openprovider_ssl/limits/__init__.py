"""Client-wide limits: rate, Openprovider's identical-call rule, the retry quota, maintenance.

``Limits`` is the front door every call passes through. It keeps the rules in memory for one
process, or, given a backend such as ``RedisLimits``, shares them with every process using it.
"""

from ._budgets import RetryQuota
from ._front import Limits, LimitsBackend
from ._redis.backend import RedisLimits

__all__ = ["Limits", "LimitsBackend", "RedisLimits", "RetryQuota"]
