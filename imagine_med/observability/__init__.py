"""Structured logs (JSON lines carrying the job id) and Prometheus metrics."""
