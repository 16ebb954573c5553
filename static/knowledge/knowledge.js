// Small behaviours of the knowledge pages: selecting list rows, confirmations, live import progress and
// pages that refresh themselves while a document is being processed.
(function () {
  "use strict";

  function updateSelectedCount(form) {
    const label = form.querySelector("[data-selected-count]");
    if (!label) return;
    const count = form.querySelectorAll('input[name="entries"]:checked').length;
    if (!label.dataset.original) label.dataset.original = label.textContent;
    label.textContent = count ? label.dataset.prefix + " " + count : label.dataset.original;
  }

  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    const form = box.closest("form");
    box.addEventListener("change", function () {
      form.querySelectorAll('input[name="entries"]').forEach(function (entry) { entry.checked = box.checked; });
      updateSelectedCount(form);
    });
    form.addEventListener("change", function () { updateSelectedCount(form); });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  document.querySelectorAll("[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  const progress = document.querySelector("[data-progress-url]");
  if (progress) {
    const bar = progress.querySelector("progress");
    const poll = function () {
      fetch(progress.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
        .then(function (job) {
          bar.max = Math.max(job.total, 1);
          bar.value = job.done;
          ["done", "total", "rejected"].forEach(function (name) {
            const field = progress.querySelector('[data-field="' + name + '"]');
            if (field) field.textContent = job[name];
          });
          if (job.finished) window.location.reload();
          else window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    window.setTimeout(poll, 1000);
  }

  const reloading = document.querySelector("[data-reload-after]");
  if (reloading) {
    window.setTimeout(function () { window.location.reload(); }, Number(reloading.dataset.reloadAfter) * 1000);
  }
})();
