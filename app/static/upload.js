// Sends the creative upload form with a progress bar. The server's answer decides what follows: on success
// the browser goes where the server redirected; on a refusal the server's own upload section, with its
// messages by the fields, replaces this one.
(function () {
  "use strict";

  const MIB = 1024 * 1024;

  function send(form) {
    const section = form.closest("#upload");
    const box = form.querySelector(".upload-progress");
    const bar = box.querySelector("progress");
    const text = box.querySelector(".progress-text");
    const button = form.querySelector("button[type=submit]");

    function fail(message) {
      text.textContent = message;
      text.classList.add("error");
      button.disabled = false;
    }

    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.responseType = "document";
    request.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.round((100 * event.loaded) / event.total);
      bar.value = percent;
      text.textContent = `${percent} % of ${(event.total / MIB).toFixed(1)} MiB sent`;
    });
    request.upload.addEventListener("load", () => {
      text.textContent = "Sent. The server is checking the video…";
    });
    request.addEventListener("load", () => {
      if (request.status < 400) {
        window.location.assign(`${request.responseURL}#creatives`);
        return;
      }
      const page = request.response;
      const answer = page && page.getElementById("upload");
      if (answer) {
        section.replaceWith(document.adoptNode(answer));
        const summary = document.getElementById("form-errors");
        if (summary) summary.focus();
        return;
      }
      const message = page && page.querySelector("main .notice.error");
      fail(message ? message.textContent : `The server answered ${request.status}.`);
    });
    request.addEventListener("error", () => {
      fail("The upload stopped before the server answered. A file over the size limit is refused as soon as it starts.");
    });

    text.classList.remove("error");
    text.textContent = "Starting…";
    box.hidden = false;
    button.disabled = true;
    request.send(new FormData(form));
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-upload]");
    if (!form) return;
    event.preventDefault();
    send(form);
  });
})();
