"""`kiosk-central`: the reference receiver of the sync protocol (DESIGN §6), a small
Flask app over its own SQLite file, for tests, demos and small sites."""
