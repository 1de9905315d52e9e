"""The domain: verb functions that check a rule, change rows, record history and queue messages."""
