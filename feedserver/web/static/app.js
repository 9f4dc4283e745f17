// gitfeed web page: a little progressive enhancement, no framework, no build step.
"use strict";

// Elements with data-poll refresh themselves from a fragment URL without a full reload. The server
// answers 204 when nothing changed since the version we show (sent as `since`).
function startPolling(element) {
  const seconds = Number(element.dataset.pollSeconds || 5);
  const tick = async () => {
    try {
      const url = new URL(element.dataset.poll, window.location.href);
      if (element.dataset.version) url.searchParams.set("since", element.dataset.version);
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 200) {
        element.innerHTML = await response.text();
        element.dataset.version = response.headers.get("X-Version") || "";
      }
    } catch (error) {
      // The server is away for a moment: try again on the next tick.
    }
    window.setTimeout(tick, seconds * 1000);
  };
  window.setTimeout(tick, seconds * 1000);
}

// Forms with data-target post in the background and put the answer (an HTML fragment) in place.
function enhanceForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const target = document.querySelector(form.dataset.target);
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    target.textContent = "Working…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-Fragment": "1" },
        credentials: "same-origin",
      });
      target.innerHTML = await response.text();
    } catch (error) {
      target.textContent = "The server did not answer.";
    } finally {
      if (button) button.disabled = false;
    }
  });
}

document.querySelectorAll("[data-poll]").forEach(startPolling);
document.querySelectorAll("form[data-target]").forEach(enhanceForm);
