"""A stub of Jira's REST and Linear's GraphQL endpoints, for tests across processes.

It answers the calls Flowkeeper's clients make, keeps issues, comments and labels in
memory, records every request, and can be switched to answer 429, 400 RATELIMITED, 5xx or
slowly. Its Jira answers carry Jira's rate-limit headers, and it refuses past Jira's burst and
per-issue write limits when told to (`jiralimits`). End-to-end tests and benchmarks run it on a loopback port:
`python -m integration.stubtracker --port 8765`.
"""
