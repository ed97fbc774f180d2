// Progressive enhancement only: the page reads fully without this script.
"use strict";
(() => {
  const sections = Array.from(document.querySelectorAll("main > section.region"));
  const links = Array.from(document.querySelectorAll("#regions a"));
  const search = document.getElementById("search");
  const query = document.getElementById("q");
  const shown = document.getElementById("shown");
  const ids = new Set(sections.map((section) => section.id));

  // The hash (a region's link) decides; `?region=` serves links shared without one.
  function region() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (hash) return ids.has(hash) ? hash : "";
    const asked = new URLSearchParams(location.search).get("region") || "";
    return ids.has(asked) ? asked : "";
  }

  function apply() {
    const chosen = region();
    const terms = query.value.toLowerCase().split(/\s+/).filter(Boolean);
    const visible = new Set();
    for (const section of sections) {
      section.hidden = Boolean(chosen) && section.id !== chosen;
      for (const item of section.querySelectorAll("li.event")) {
        const text = item.textContent.toLowerCase();
        item.hidden = !terms.every((term) => text.includes(term));
        if (!section.hidden && !item.hidden) visible.add(item.dataset.uid);
      }
    }
    for (const link of links) {
      if (link.dataset.region === chosen) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
    const name = chosen ? document.getElementById(chosen + "-heading").textContent : "all regions";
    shown.textContent = `${visible.size} event${visible.size === 1 ? "" : "s"} shown (${name}${terms.length ? ", matching your search" : ""}).`;
  }

  // Each start time again in the reader's zone, when the browser knows it and it differs.
  function readerTimes() {
    const options = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    let reader;
    try {
      reader = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch {
      return;
    }
    if (!reader) return;
    const mine = new Intl.DateTimeFormat(undefined, { ...options, timeZone: reader });
    const labelled = new Intl.DateTimeFormat(undefined, { ...options, timeZone: reader, timeZoneName: "short" });
    for (const time of document.querySelectorAll("time.start[data-zone]")) {
      const when = new Date(time.dateTime);
      if (Number.isNaN(when.getTime())) continue;
      let theirs;
      try {
        theirs = new Intl.DateTimeFormat(undefined, { ...options, timeZone: time.dataset.zone }).format(when);
      } catch {
        continue;
      }
      if (theirs === mine.format(when)) continue;
      const out = time.nextElementSibling;
      out.textContent = `(${labelled.format(when)} your time)`;
      out.hidden = false;
    }
  }

  function copyButtons() {
    const status = document.getElementById("copied");
    for (const button of document.querySelectorAll("button[data-copy]")) {
      button.hidden = false;
      button.addEventListener("click", async () => {
        const input = document.getElementById(button.dataset.copy);
        try {
          await navigator.clipboard.writeText(input.value);
        } catch {
          input.select();
          document.execCommand("copy");
        }
        status.textContent = `Copied ${input.value}`;
      });
    }
  }

  search.hidden = false;
  query.addEventListener("input", apply);
  window.addEventListener("hashchange", apply);
  apply();
  readerTimes();
  copyButtons();
})();
