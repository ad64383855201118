"""Delivering one update: its draft, preflight, the plan, the dispatcher and the send service."""
