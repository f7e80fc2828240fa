"""Telling the owner: a durable outbox in SQLite, delivery through Apprise, the messages,
the business-day calendar and payout tracking."""
