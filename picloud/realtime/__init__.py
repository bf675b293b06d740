"""Realtime: the Redis broadcast of committed publishes, SSE streams and subscriber tokens."""
