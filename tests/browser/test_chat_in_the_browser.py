"""bob uses the chat in Chromium: English and Chinese, streaming, sources, feedback, language, the badge, a11y."""

import os
from pathlib import Path

import pytest

from knowledge.models import UnansweredQuestion
from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant
from tests.chatbot.conftest import publish

DOCUMENTED_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the screens are saved: the README's folder with LANTERN_SAVE_SCREENSHOTS=1, else a temporary one."""
    folder = DOCUMENTED_SCREENSHOTS if os.environ.get("LANTERN_SAVE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def acme_with_faqs(lantern_server):
    tenant, _ = create_tenant(slug="acme", name="Acme 科技", mode="hybrid")
    bob = add_member(
        tenant=tenant, username="bob", role="employee", department_code="IT", full_name="Bob Chen", password="pw-bob-1"
    )
    publish(
        tenant, "IT-PW-1", "How do I reset my password?", "Go to https://sso.acme.example/reset and follow the steps."
    )
    publish(
        tenant,
        "HR-LEAVE-1",
        "特休假有幾天？",
        "依勞基法第38條，年資滿一年有7天特休。",
        language="zh-hant",
        alternatives=["年假有幾天", "特休怎麼算"],
    )
    return bob, lantern_server


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "pw-bob-1")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#question")


def ask(page, question: str):
    page.fill("#question", question)
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    answer.locator(".feedback").wait_for(timeout=20_000)
    return answer


def test_bob_chats_in_english_and_chinese_and_rates_an_answer(browser, acme_with_faqs, screenshots):
    bob, base_url = acme_with_faqs
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 800})
    log_in(page, base_url)
    page.screenshot(path=str(screenshots / "chat-empty.png"))

    answer = ask(page, "How do I reset my password?")
    assert "sso.acme.example/reset" in answer.locator(".text").inner_text()
    assert answer.locator(".badge").first.inner_text() in {"Our servers", "FAQ"}
    answer.locator("details.source summary").first.click()
    assert "sso.acme.example" in answer.locator(".source-text").first.inner_text()
    answer.locator("button[value=no]").click()
    page.wait_for_selector(".thanks")
    with tenant_context(bob.tenant_id):
        assert UnansweredQuestion.objects.filter(reason="not_helpful").exists()
    page.screenshot(path=str(screenshots / "chat-answer-with-source.png"), full_page=True)

    answer = ask(page, "請問特休假有幾天")
    assert any("\u4e00" <= character <= "\u9fff" for character in answer.locator(".text").inner_text())

    answer = ask(page, "My ID number is A123456789, how do I reset my password?")
    assert answer.locator(".in-house").is_visible()
    page.screenshot(path=str(screenshots / "chat-stayed-in-house.png"), full_page=True)

    page.select_option("#language", "zh-hant")
    page.click("#language-form button[type=submit]")
    page.wait_for_selector("text=送出")
    assert page.locator("html").get_attribute("lang") == "zh-hant"
    page.screenshot(path=str(screenshots / "chat-zh-hant.png"), full_page=True)

    phone = browser.new_page(locale="zh-TW", viewport={"width": 390, "height": 844})
    log_in(phone, base_url)
    phone.screenshot(path=str(screenshots / "chat-phone.png"), full_page=True)


def test_chat_page_has_no_serious_accessibility_violations(browser, acme_with_faqs):
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python")
    _, base_url = acme_with_faqs
    page = browser.new_page(locale="en-US")
    log_in(page, base_url)
    ask(page, "How do I reset my password?")
    results = axe_module.Axe().run(page)
    serious = [
        violation["id"]
        for violation in results.response["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]
    assert serious == [], results.generate_report()
