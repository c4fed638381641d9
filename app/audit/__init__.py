"""Audit log of admin and researcher actions."""
