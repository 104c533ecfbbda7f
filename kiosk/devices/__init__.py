"""Device layer: one small interface per device, a real back-end and a simulated one.

The web layer never imports from here directly; it calls services that the runtime
wired to the back-end the config chose.
"""
