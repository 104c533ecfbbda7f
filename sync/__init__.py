"""The sync agent (`kiosk-sync`) that forwards the outbox to the central office, and the
reference central receiver (`kiosk-central`, in sync.central). See docs/sync.md. The SQL
on the kiosk's sync tables (outbox, dead letters, sync_state, the pulled directory) is
kiosk.store.sync_state.

    protocol.py  signing, batch bodies, record checks, what an answer means (pure)
    backoff.py   the retry schedule (pure)
    progress.py  the terminal progress line
    agent.py     SyncAgent: send / settle / pull, with retries
    cli.py       `kiosk-sync run | once | status | dead-letters | requeue`
"""
