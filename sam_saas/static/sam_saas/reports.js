// /reports/: each form's download address without its empty fields, shown under the form
// (for scripts) and used when the form is submitted, so both are the same URL.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.report-form")) {
    const box = form.querySelector(".report-url");
    const address = () => {
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) {
        if (String(value).trim() !== "") params.append(name, value);
      }
      const query = params.toString();
      return new URL(form.getAttribute("action"), window.location.href).href + (query ? "?" + query : "");
    };
    const update = () => { box.value = address(); };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      update();
      window.location.assign(box.value);
    });
    box.addEventListener("focus", () => box.select());
    update();
  }
});
