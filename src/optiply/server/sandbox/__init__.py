"""The sandbox: what production can't give an integrator (integrator-needs §4, 3–6 and 9).

A request journal, fault rules, token lifetimes, rate limits and a production-compat mode, kept
per account in the server's database so every worker sharing it applies the same state, and
reachable from the CLI, an HTTP API under ``/sandbox`` and a web page. Modules:

- ``redact``: secrets out of queries, forms, JSON bodies and headers (journal, access log);
- ``rules``: which fault rule fires on which request (pure, exact across workers by counting
  matches in the database).
"""
