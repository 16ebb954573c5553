"""Costing: usage per department against the cost model."""


def meter(**kwargs):
    """Write the usage record of one question (see costing.metering.meter)."""
    from costing.metering import meter as meter_question

    return meter_question(**kwargs)
