// Follows the run page's transcript live: an EventSource on the run's
// event stream (the session cookie authenticates it), one list item per
// entry, and a reload once the run ends so the page shows its outcome.
"use strict";
(function () {
  const list = document.getElementById("transcript");
  if (!list || list.dataset.live !== "true") return;
  const live = document.getElementById("live");
  let url = "/api/runs/" + encodeURIComponent(list.dataset.run) + "/events";
  if (list.dataset.after) url += "?after=" + encodeURIComponent(list.dataset.after);
  const es = new EventSource(url);
  es.addEventListener("entry", function (ev) {
    const e = JSON.parse(ev.data);
    const li = document.createElement("li");
    li.className = "kind-" + e.kind;
    const time = document.createElement("time");
    time.dateTime = e.time;
    time.textContent = e.time.substring(11, 19);
    const text = document.createElement("span");
    text.textContent = e.line;
    li.append(time, " ", text);
    list.append(li);
    if (window.innerHeight + window.scrollY >= document.body.scrollHeight - li.offsetHeight - 40) {
      li.scrollIntoView({ block: "end" });
    }
  });
  es.addEventListener("end", function (ev) {
    es.close();
    const run = JSON.parse(ev.data);
    const state = document.getElementById("state");
    state.textContent = run.state;
    state.className = "state state-" + run.state;
    live.textContent = "run " + run.state + "; reloading…";
    setTimeout(function () { location.reload(); }, 1500);
  });
  es.addEventListener("stream-error", function (ev) {
    live.textContent = JSON.parse(ev.data).error + "; retrying…";
  });
  es.onopen = function () { live.textContent = "following…"; };
  es.onerror = function () {
    if (es.readyState === EventSource.CONNECTING) live.textContent = "connection lost; reconnecting…";
  };
})();
