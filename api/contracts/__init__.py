"""The seeds' own API contracts, each a thin adapter onto the main contract's service functions.

A seed client speaks its own paths, fields and status words; every route here translates them
onto api/runs_service.py (start, find a run), api/views.py (read a run), the main routes'
cancel and clarification functions and the shared event feed. No run logic lives here.
docs/contracts-seeds.md has one table per seed.
"""
