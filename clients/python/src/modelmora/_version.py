"""The SDK's version, also sent in its user agent."""

__version__ = "0.1.0"
