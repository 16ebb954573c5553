"""Audit: the append-only, tamper-evident record of every question and every sensitive action."""


def record(**kwargs):
    """Append an event to the tenant's audit chain (see audit.log.record)."""
    from audit.log import record as record_event

    return record_event(**kwargs)
