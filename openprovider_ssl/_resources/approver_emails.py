"""``client.approver_emails``: the addresses a domain's approval email may go to."""

from __future__ import annotations

from .._protocol import validation as check
from .._protocol.messages import build_request
from ..models import ApproverEmailList
from .caller import Caller


class ApproverEmails:
    """Approver email addresses. Reached as ``client.approver_emails``."""

    def __init__(self, client: Caller) -> None:
        self._client = client

    async def list(self, domain: str, *, product_id: int | None = None) -> tuple[str, ...]:
        """The addresses allowed as approver email for ``domain`` (``admin@``,
        ``hostmaster@``, ...), optionally for one product; pass one of them to
        ``orders.create``, ``orders.reissue`` or ``orders.update_approver_email``."""
        params = [("domain", check.hostname("domain", domain))]
        if product_id is not None:
            params.append(("product_id", str(check.positive_int("product_id", product_id))))
        request = build_request(
            "ListApproverEmails", "GET", "/ssl/approver-emails", params=params, idempotent=True
        )
        answer = await self._client._execute(request, ApproverEmailList)
        return answer.results
