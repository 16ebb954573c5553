// The chat page: send a question by POST, read the answer as server-sent events, stop, retry, rate.
(function () {
  "use strict";
  const form = document.getElementById("ask-form");
  if (!form || !window.fetch || !window.TextDecoder) return;
  const strings = JSON.parse(document.getElementById("chat-strings").textContent);
  const list = document.getElementById("messages");
  const question = document.getElementById("question");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const retry = document.getElementById("retry");
  const live = document.getElementById("live");
  const errorBox = document.getElementById("chat-error");
  const conversationField = document.getElementById("conversation-id");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  let controller = null;
  let lastQuestion = "";

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addUserMessage(text) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const item = element("li", "message user");
    item.appendChild(element("div", "text", text));
    list.appendChild(item);
  }

  function renderBadge(meta, badge) {
    meta.replaceChildren();
    const label = element("span", "badge route-" + badge.route, badge.label);
    label.title = badge.reason || "";
    meta.appendChild(label);
    if (badge.in_house) meta.appendChild(element("span", "badge in-house", badge.in_house));
    if (badge.reason) meta.appendChild(element("span", "reason", badge.reason));
  }

  function renderSources(slot, sources) {
    slot.replaceChildren(); // a fallback backend's opening replaces the first one's
    if (!sources.length) return;
    const box = element("div", "sources");
    box.appendChild(element("h3", "sources-title", strings.sources));
    sources.forEach(function (source, index) {
      const details = element("details", "source");
      details.appendChild(element("summary", "", "[" + (index + 1) + "] " + source.title));
      details.appendChild(element("div", "source-text", source.text));
      box.appendChild(details);
    });
    slot.appendChild(box);
  }

  function renderFeedback(item, messageId) {
    const feedback = element("form", "feedback");
    feedback.method = "post";
    feedback.action = form.dataset.feedbackUrl.replace("/0/", "/" + messageId + "/");
    const fieldset = element("fieldset");
    fieldset.appendChild(element("legend", "visually-hidden", strings.question));
    [["yes", "👍 " + strings.helpful], ["no", "👎 " + strings.not_helpful]].forEach(function (pair) {
      const button = element("button", "secondary", pair[1]);
      button.type = "submit";
      button.name = "helpful";
      button.value = pair[0];
      fieldset.appendChild(button);
    });
    const label = element("label", "small", strings.comment);
    label.htmlFor = "comment-" + messageId;
    const input = element("input");
    input.id = "comment-" + messageId;
    input.name = "comment";
    input.maxLength = 2000;
    fieldset.appendChild(label);
    fieldset.appendChild(input);
    feedback.appendChild(fieldset);
    item.appendChild(feedback);
  }

  // Feedback forms are sent in the background so the page keeps its place.
  list.addEventListener("submit", function (event) {
    const feedback = event.target.closest("form.feedback");
    if (!feedback) return;
    event.preventDefault();
    const body = new FormData(feedback);
    body.set("helpful", event.submitter ? event.submitter.value : "yes");
    body.set("csrfmiddlewaretoken", csrf);
    fetch(feedback.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        feedback.querySelectorAll("button").forEach(function (button) {
          button.setAttribute("aria-pressed", String(button === event.submitter));
        });
        live.textContent = strings.thanks;
        let note = feedback.querySelector(".thanks");
        if (!note) { note = element("span", "thanks muted small", ""); feedback.appendChild(note); }
        note.textContent = strings.thanks;
      })
      .catch(function () { showError(strings.failed); });
  });

  function parseEvents(buffer, onEvent) {
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      let name = "message";
      let data = "";
      block.split("\n").forEach(function (line) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      });
      if (data) onEvent(name, JSON.parse(data));
      boundary = buffer.indexOf("\n\n");
    }
    return buffer;
  }

  function setBusy(busy) {
    send.disabled = busy;
    stop.hidden = !busy;
    if (busy) retry.hidden = true;
  }

  async function ask(text) {
    showError("");
    lastQuestion = text;
    addUserMessage(text);
    const item = document.getElementById("answer-template").content.firstElementChild.cloneNode(true);
    const textBox = item.querySelector(".text");
    const notice = item.querySelector(".notice");
    list.appendChild(item);
    item.scrollIntoView({ block: "end" });
    const body = new FormData();
    body.set("question", text);
    body.set("conversation", conversationField.value);
    body.set("csrfmiddlewaretoken", csrf);
    controller = new AbortController();
    setBusy(true);
    let finished = false;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST", body: body, signal: controller.signal, credentials: "same-origin",
        headers: { Accept: "text/event-stream" },
      });
      if (!response.ok) {
        let message = strings.failed;
        try { message = (await response.json()).error.message; } catch (ignored) { /* not JSON */ }
        item.remove();
        list.lastElementChild.remove();
        showError(message);
        question.value = text;
        retry.hidden = response.status !== 429;
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), function (name, payload) {
          if (name === "opening") {
            conversationField.value = payload.conversation_id;
            renderBadge(item.querySelector(".meta"), payload.badge);
            renderSources(item.querySelector(".sources-slot"), payload.sources);
            if (window.history && !window.location.pathname.includes("/c/")) {
              window.history.replaceState(null, "", form.dataset.conversationUrl.replace("/0/", "/" + payload.conversation_id + "/"));
            }
          } else if (name === "delta") {
            textBox.textContent += payload.text;
          } else if (name === "done") {
            finished = true;
            renderFeedback(item, payload.message_id);
          } else if (name === "failed") {
            finished = true;
            notice.textContent = payload.message;
            notice.hidden = false;
            retry.hidden = false;
          }
        });
      }
      if (!finished) throw new Error("stream ended early");
      live.textContent = textBox.textContent + " " + strings.done;
    } catch (error) {
      if (error.name === "AbortError") {
        notice.textContent = strings.stopped;
      } else {
        notice.textContent = strings.lost;
        retry.hidden = false;
      }
      notice.hidden = false;
    } finally {
      textBox.setAttribute("aria-busy", "false");
      item.classList.remove("streaming");
      controller = null;
      setBusy(false);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) { showError(question.validationMessage || strings.failed); question.focus(); return; }
    question.value = "";
    ask(text);
  });
  question.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stop.addEventListener("click", function () { if (controller) controller.abort(); });
  retry.addEventListener("click", function () {
    question.value = "";
    retry.hidden = true;
    ask(lastQuestion);
  });
  const language = document.getElementById("language");
  if (language) language.addEventListener("change", function () { language.form.submit(); });
})();
