"""The admin pages: accounts, invites and the audit log."""
