"""The mail outbox: messages queued in the transaction that causes them, then built and sent by the worker."""
