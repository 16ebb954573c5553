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


@pytest.fixture
def lantern_server(committed_db):
    """Lantern served over HTTP on loopback from a thread, for clients such as the openai SDK or a browser.

    pytest-django's live_server flushes the database afterwards, which the application role may not do;
    committed_db empties it as the owner instead."""
    import threading

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
