import pytest

from knowledge.faqs import save_faq_entry
from tenancy.context import tenant_context


def publish(tenant, external_id: str, question: str, answer: str, *, language: str = "en", alternatives=()):
    with tenant_context(tenant.pk):
        entry, _ = save_faq_entry(
            tenant_id=tenant.pk,
            external_id=external_id,
            question=question,
            answer=answer,
            language=language,
            status="published",
            alternatives=alternatives,
        )
    return entry


@pytest.fixture
def acme_faqs(acme):
    return {
        "vpn": publish(
            acme,
            "IT-VPN-1",
            "How do I connect to the VPN from home?",
            "Install GlobalProtect from the EIP portal and sign in with your Acme account.",
            alternatives=["vpn not working", "VPN 連不上怎麼辦"],
        ),
        "leave": publish(
            acme,
            "HR-LEAVE-1",
            "特休假有幾天？",
            "依勞基法第38條，年資滿一年有7天特休。",
            language="zh-hant",
            alternatives=["年假有幾天", "特休怎麼算"],
        ),
        "password": publish(
            acme,
            "IT-PW-1",
            "How do I reset my password?",
            "Go to https://sso.acme.example/reset and follow the steps.",
        ),
    }


@pytest.fixture
def globex_faqs(globex):
    return {
        "vpn": publish(
            globex,
            "G-VPN-1",
            "How do I connect to the VPN from home?",
            "Globex uses FortiClient: open it and choose the Globex-HQ profile.",
        )
    }
