"""Front-desk kiosk service for property-management service centres."""

__version__ = "0.1.0"
