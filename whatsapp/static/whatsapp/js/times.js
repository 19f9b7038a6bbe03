// One rule for every time on the dashboard: shown in the reader's time zone (the browser's),
// formatted by the page's language, with the zone named once per page. The server renders each
// time as <time datetime="ISO" data-time="style"> with a fallback text; this redraws them, and
// tells the server the zone (a cookie) so what it computes per day or renders first agrees.

const STYLES = {
  datetime: { dateStyle: "short", timeStyle: "short" },
  seconds: { dateStyle: "short", timeStyle: "medium" },
  date: { dateStyle: "short" },
  time: { timeStyle: "medium" },
  day: { day: "2-digit", month: "2-digit" },
};

export function language() {
  return document.documentElement.lang || undefined;
}

export function zone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

const formatters = new Map();

function formatter(style, calendarDay) {
  const key = `${style}:${calendarDay}`;
  if (!formatters.has(key)) {
    const options = { ...(STYLES[style] || STYLES.datetime) };
    // A calendar day ("2026-12-01", already counted in the reader's zone by the server) has no
    // time to convert: read and show it as it is.
    if (calendarDay) options.timeZone = "UTC";
    formatters.set(key, new Intl.DateTimeFormat(language(), options));
  }
  return formatters.get(key);
}

export function formatTime(iso, style = "datetime") {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return formatter(style, /^\d{4}-\d{2}-\d{2}$/.test(iso)).format(date);
}

// "America/Sao_Paulo (GMT-3)": the zone's name and offset, as the reader's language says them.
export function zoneLabel() {
  let offset = "";
  try {
    const parts = new Intl.DateTimeFormat(language(), { timeZoneName: "shortOffset" })
      .formatToParts(new Date());
    offset = parts.find((part) => part.type === "timeZoneName")?.value || "";
  } catch {
    offset = "";
  }
  return offset ? `${zone().replace(/_/g, " ")} (${offset})` : zone().replace(/_/g, " ");
}

export function localize(root = document) {
  for (const element of root.querySelectorAll("time[data-time]")) {
    const iso = element.getAttribute("datetime");
    const text = formatTime(iso, element.dataset.time);
    if (element.textContent !== text) element.textContent = text;
    if (iso && iso.length > 10) element.title = `${formatTime(iso, "seconds")} · ${zoneLabel()}`;
  }
  // SVG has no <time>: its texts carry the time in data-iso.
  for (const element of root.querySelectorAll("[data-iso][data-time]")) {
    const text = formatTime(element.dataset.iso, element.dataset.time) + (element.dataset.suffix || "");
    if (element.textContent !== text) element.textContent = text;
  }
  // Ranges drawn in SVG (the health timeline) carry their times as attributes.
  for (const title of root.querySelectorAll("[data-range-start]")) {
    const from = formatTime(title.dataset.rangeStart);
    const to = formatTime(title.dataset.rangeEnd);
    title.textContent = `${from} – ${to}: ${title.dataset.rangeLabel || ""}`;
  }
  for (const note of root.querySelectorAll("[data-zone-note]")) {
    note.textContent = (note.dataset.zoneNote || "{zone}").replace("{zone}", zoneLabel());
  }
}

function rememberZone() {
  const name = zone();
  if (!document.cookie.split("; ").includes(`whatsapp_tz=${encodeURIComponent(name)}`)) {
    document.cookie = `whatsapp_tz=${encodeURIComponent(name)}; path=/; max-age=31536000; SameSite=Lax`;
  }
}

rememberZone();
localize();
