"""Email through a durable outbox.

A use case queues a message with `outbox.queue_email(...)` inside its own transaction: the message is a row in
`outbox_message`, committed (or rolled back) with the change that caused it. After the commit, delivery starts
at once (a Redis/RQ job, a background thread, or inline in tests: see `practice.jobs`), and every
`flask worker` round sweeps whatever is still due, so a message survives a crash of any of them.

    models.py     OutboxMessage: the row, its states and the database guarantees
    outbox.py     queue_email(), queue_emails(), Attachment and CalendarInvite, rendering
    booking_mail.py  the messages a booking's changes send (practice.reactions calls them)
    delivery.py   deliver_due() (worker job), deliver_message(): claim with a lease, send, retry with backoff
    transport.py  the MIME message, and the SMTP server or the local folder it goes to
"""
