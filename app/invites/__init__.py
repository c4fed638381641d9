"""Invite links: sign-up with a role granted by an admin or researcher."""
