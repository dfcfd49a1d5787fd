"""The job engine: queue, leases, reaper, worker and event log.

It knows nothing of articles or HTTP, runs any registered job kind, and is the
only code that changes a job's status.
"""
