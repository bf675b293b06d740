"""Dramatiq workers: the Redis broker, the job actor and its middleware."""
