"""Observability shared by the API and the worker: structured logs, traces, worker metrics.

The API's own HTTP metrics live in `api/metrics.py`; this package holds what both processes need.
"""
