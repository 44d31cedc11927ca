// Follows a run's Server-Sent Events stream (GET /runs/{id}/events) and reconnects with
// Last-Event-ID, so a dropped connection resumes where it stopped: no gap, no duplicate.
//
// A fetch-based reader rather than EventSource, because EventSource hides the HTTP status (an
// unknown run and an API without the route look alike) and delivers `event: <type>` messages
// only to listeners registered for that exact type, so a new event type would go unseen.

import { API, authHeaders, runPath } from "./common.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class EventFeed {
  // onEvent(event): one RunEvent, in order, each once.
  // onState(state): "live" | "reconnecting" | "unavailable" | "ended" | "not_found".
  constructor(runId, { onEvent, onState }) {
    this.url = API + runPath(runId, "/events");
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = 0;
    this.finished = false;
    this.stopped = false;
    this.abort = null;
  }

  start() {
    this.loop();
  }

  stop() {
    this.stopped = true;
    this.abort?.abort();
  }

  async loop() {
    let backoff = 1000;
    while (!this.stopped) {
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastId) headers["Last-Event-ID"] = String(this.lastId);
        this.abort = new AbortController();
        const resp = await fetch(this.url, { headers, signal: this.abort.signal });
        if (!resp.ok) {
          const body = await resp.json().catch(() => null);
          if (resp.status === 404 && body?.error_code === "run_not_found") {
            return this.onState("not_found");
          }
          // No such route (an older API): the page falls back to polling the status.
          if ([404, 405, 501].includes(resp.status)) return this.onState("unavailable");
          throw new Error(`HTTP ${resp.status}`);
        }
        // 204: the run has finished and we already hold every event.
        if (resp.status === 204 || !resp.body) return this.onState("ended");
        this.onState("live");
        backoff = 1000;
        await this.read(resp.body);
        if (this.finished) return this.onState("ended");
      } catch (err) {
        if (this.stopped) return;
      }
      this.onState("reconnecting");
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 15000);
    }
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // A "\r" at the end may be the first half of a "\r\n" still in flight: keep it back.
      const cut = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
      buffer = buffer.slice(0, cut).replace(/\r\n?/g, "\n") + buffer.slice(cut);
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  dispatch(block) {
    let id = null;
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // ":" lines are keep-alives
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return;
    // `end` closes a run that stopped without a `finished` event (terminated, say); it is
    // not a RunEvent, so it only tells us not to reconnect.
    if (type === "end") {
      this.finished = true;
      return;
    }
    let event;
    try {
      event = JSON.parse(data.join("\n"));
    } catch {
      return;
    }
    const seq = Number(id ?? event.seq) || 0;
    if (seq && seq <= this.lastId) return;
    if (seq) this.lastId = seq;
    if (type === "finished" || event.type === "finished") this.finished = true;
    this.onEvent(event);
  }
}
