// Behaviour shared by the dashboard's pages: the instance switcher and confirmed forms.

for (const select of document.querySelectorAll("[data-switcher]")) {
  select.addEventListener("change", () => {
    window.location.assign(select.value);
  });
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
