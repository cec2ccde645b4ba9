"""Reclamation services. Admin actions, tasks, views and commands call these; nothing else
changes a candidate's state."""
