"""The resources a client exposes: ``orders``, ``products``, ``csr`` and ``approver_emails``.

Each turns a method call into a ``Request`` of the protocol layer, sends it through the
client, and returns models; ``paging`` walks the limit/offset lists they share.
"""
