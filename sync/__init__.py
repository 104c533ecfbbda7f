"""The sync agent (`kiosk-sync`) that forwards the outbox to the central office.

Not built yet: see the sync issue. The outbox it will read is written today by every
ticket change (kiosk/store/outbox.py), so nothing made before the agent exists is lost.
"""
