"""Privacy-aware routing: PII detection, the tenant's routing policy, the router and the LLM backends."""

from routing.explanations import explain

__all__ = ["explain"]
