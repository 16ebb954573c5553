from django.http import HttpRequest


def membership(request: HttpRequest) -> dict:
    """Expose the member, their tenant and role to every template."""
    member = getattr(request, "membership", None)
    return {"membership": member, "tenant": member.tenant if member else None}
