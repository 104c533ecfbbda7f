"""The sync agent (`kiosk-sync`) that forwards the outbox to the central office, and the
reference central receiver (`kiosk-central`, in sync.central). See docs/sync.md.

    protocol.py  signing, batch bodies, record checks, what an answer means (pure)
    backoff.py   the retry schedule (pure)
    progress.py  the terminal progress line
    state.py     the agent's tables in the kiosk database: outbox, dead letters, sync_state, residents
    agent.py     SyncAgent: send / settle / pull, with retries
    cli.py       `kiosk-sync run | once | status | dead-letters | requeue`
"""
