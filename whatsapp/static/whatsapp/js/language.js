// The language switch submits itself when a language is chosen (no inline handler: CSP).
for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
  select.addEventListener("change", () => select.form?.submit());
}
