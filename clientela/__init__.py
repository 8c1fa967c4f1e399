"""Clientela: an open-source CRM for small and mid-sized businesses."""

__version__ = "0.1.0"
