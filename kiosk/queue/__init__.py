"""Pure queue rules: numbering, ordering, transitions and wait estimates.

Nothing here does I/O or imports the web or device layers; the service layer feeds it
plain values and persists what it returns.
"""
