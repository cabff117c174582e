"""The one clock: scheduled sweeps, reconciles and each feature's periodic jobs.

`cron` is the `flowkeeper cron` process (RQ's cron scheduler, with Redis); `embedded` is
the thread of `flowkeeper serve` that does the same without Redis. Both read the same
periodic-job table (`periodic.PERIODIC`), so a feature's job is registered once.
"""
