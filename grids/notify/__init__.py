"""Notifications (通知): domain events expanded into an outbox and delivered by channel."""
