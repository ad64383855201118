/* notify status banner. Add to any page:
   <script src="https://status.example.com/embed/banner.js" async></script>
   While an incident or maintenance is active it shows its name, latest status and a link, from
   api/v2/summary.json beside this script; nothing otherwise. Dismissed per update. No deps. */
(function () {
  var me = document.currentScript;
  if (!me || !window.fetch) return;
  var W = {investigating: "Investigating", identified: "Identified", monitoring: "Monitoring",
    scheduled: "Scheduled", in_progress: "In progress", verifying: "Verifying"};
  var C = {critical: "#cf222e", major: "#bc4c00", minor: "#9a6700", none: "#9a6700",
    maintenance: "#0b5cad"};
  var R = ["maintenance", "none", "minor", "major", "critical"];
  fetch(new URL("../api/v2/summary.json", me.src).href, {cache: "no-cache", credentials: "omit"})
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (d) { if (d) ready(function () { show(d); }); })
    .catch(function () {});

  function ready(f) {
    if (document.body) f(); else document.addEventListener("DOMContentLoaded", f);
  }
  function el(tag, text, css) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (css) e.style.cssText = css;
    return e;
  }
  function show(d) {
    var live = (d.incidents || []).concat((d.scheduled_maintenances || []).filter(function (m) {
      return m.status === "in_progress" || m.status === "verifying";
    }));
    if (!live.length) return;
    live.sort(function (a, b) { return R.indexOf(b.impact) - R.indexOf(a.impact); });
    var it = live[0], u = (it.incident_updates || [])[0] || {};
    var key = "notify-banner:" + it.id + ":" + (u.id || it.updated_at);
    try { if (localStorage.getItem(key)) return; } catch (e) { /* storage off: show it */ }
    var host = el("div");
    host.setAttribute("data-notify-banner", "");
    var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
    var box = el("section", "", "display:flex;align-items:center;gap:12px;flex-wrap:wrap;" +
      "padding:10px 16px;margin:0;color:#fff;font:15px/1.4 system-ui,sans-serif;background:" +
      (C[it.impact] || C.minor));
    box.setAttribute("aria-label", "Service status");
    var text = el("p", "", "margin:0;flex:1 1 16em");
    var state = it.impact === "maintenance" ? "Maintenance " + (W[it.status] || "").toLowerCase()
      : W[it.status] || it.status;
    text.appendChild(el("strong", state + ": "));
    text.appendChild(document.createTextNode(it.name + " "));
    var more = live.length > 1 ? " (and " + (live.length - 1) + " more)" : "";
    var link = el("a", "Details" + more, "color:#fff;font-weight:600;text-decoration:underline");
    link.href = it.shortlink || new URL("../", me.src).href;
    text.appendChild(link);
    var close = el("button", "\u00d7", "background:none;border:2px solid #fff;border-radius:4px;" +
      "color:#fff;font-size:18px;line-height:1;padding:2px 8px;cursor:pointer");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss this status notice");
    close.onclick = function () {
      try { localStorage.setItem(key, "1"); } catch (e) { /* remembered for this page only */ }
      host.remove();
    };
    box.appendChild(text);
    box.appendChild(close);
    root.appendChild(box);
    document.body.insertBefore(host, document.body.firstChild);
  }
})();
