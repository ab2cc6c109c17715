"""Email: a durable outbox, rendering at send time, and delivery by SMTP or to a folder.

Every email is first a row in the outbox (`outbox.enqueue`), written in the same transaction
as what caused it. After the request that wrote it has answered, the app tries to send it at
once (`delivery.deliver_after_response`); the worker (`flask mail worker`, or
`flask mail send-pending` from cron) retries what failed, with backoff. A row is claimed with
a lease before it is sent, so two workers never send the same row. Rows may wait
(`send_after`) and share a `coalesce_key`: when one is due, all of them go as one email
(a guardian's receipts, see `portal.receipts`).
"""
