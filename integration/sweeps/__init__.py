"""Scheduled sweeps: the pipeline fed by a tracker search instead of a webhook.

Stalled work sends no webhooks, so sweeps look for it: each scheduled rule asks the
tracker for candidates (the rule's pushdown query), evaluates them against the mirror,
and writes back through the executor — one sweep per rule and tracker at a time, pages
as separate jobs, a write budget per run, and a blast-radius hold for surprises.
"""
