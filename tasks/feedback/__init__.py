"""Feedback from users becomes data: the store, the bounded image inputs and the monitoring statistics."""
