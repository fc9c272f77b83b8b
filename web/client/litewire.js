// litewire's browser client (ES module), served by the binary at /litewire.js.
//
//   import { Litewire } from "http://127.0.0.1:8080/litewire.js";
//   const db = new Litewire("ws://127.0.0.1:8080/ws", { token });
//   db.live("SELECT * FROM orders WHERE status = $1", ["pending"])
//     .subscribe((rows, byKey, status) => render(rows));
//   db.listen("room", (payload) => ...); db.notify("room", "hi");
//   db.presence("room", { name: "ann" }, (present) => ...);
//
// A live query keeps a synchronized copy of its result: the snapshot, then
// each diff applied to an ordered list and a Map by key. The socket
// reconnects with exponential backoff and resumes every live query from its
// last LSN (the server replays what was missed, or sends a fresh snapshot
// when it cannot), and re-joins channels and presence.

const keyOf = (key, row) => JSON.stringify(key.map((k) => row[k] ?? null));

class LiveQuery {
  constructor(db, sql, params) {
    this.db = db;
    this.sql = sql;
    this.params = params;
    this.rows = [];
    this.byKey = new Map();
    this.key = [];
    this.lsn = null;
    this.status = "connecting";
    this.listeners = new Set();
    this.sub = null;
  }

  /** Calls `fn(rows, byKey, status)` now and after every change. */
  subscribe(fn) {
    this.listeners.add(fn);
    fn(this.rows, this.byKey, this.status);
    if (this.listeners.size === 1) this.db._startLive(this);
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.db._stopLive(this);
    };
  }

  _emit() {
    for (const fn of this.listeners) fn(this.rows, this.byKey, this.status);
  }

  _snapshot(frame) {
    this.key = frame.key;
    this.rows = frame.rows.slice();
    this.byKey = new Map(this.rows.map((row) => [keyOf(this.key, row), row]));
    this.lsn = frame.lsn;
  }

  _diff(frame) {
    const k = keyOf(this.key, frame.key);
    const at = this.rows.findIndex((row) => keyOf(this.key, row) === k);
    if (frame.op === "delete") {
      if (at >= 0) this.rows.splice(at, 1);
      this.byKey.delete(k);
    } else {
      if (at >= 0) this.rows[at] = frame.row;
      else this.rows.push(frame.row);
      this.byKey.set(k, frame.row);
    }
    this.lsn = frame.lsn;
  }
}

export class Litewire {
  constructor(url, { token, maxBackoffMs = 10000 } = {}) {
    this.url = url;
    this.token = token;
    this.maxBackoffMs = maxBackoffMs;
    this.nextId = 1;
    this.pending = new Map();
    this.lives = new Set();
    this.bySub = new Map();
    this.channels = new Map();
    this.presences = new Map();
    this.backoff = 250;
    this.closed = false;
    this._connect();
  }

  _connect() {
    const url = this.token ? `${this.url}?token=${encodeURIComponent(this.token)}` : this.url;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 250;
      for (const channel of this.channels.keys()) this._send({ type: "listen", channel });
      for (const [channel, p] of this.presences) this._send({ type: "presence", channel, state: p.state });
      for (const live of this.lives) this._subscribeLive(live);
    };
    ws.onmessage = (event) => this._onFrame(JSON.parse(event.data));
    ws.onclose = () => {
      this.bySub.clear();
      for (const live of this.lives) {
        live.status = "reconnecting";
        live._emit();
      }
      if (this.closed) return;
      setTimeout(() => this._connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.maxBackoffMs);
    };
    this.heartbeat ??= setInterval(() => this._send({ type: "ping" }), 20000);
  }

  _send(message) {
    if (this.ws.readyState !== WebSocket.OPEN) return null;
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, ...message }));
    return id;
  }

  _onFrame(frame) {
    if (frame.type === "ack" && frame.sub && this.pending.has(frame.id)) {
      const live = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      live.sub = frame.sub;
      this.bySub.set(frame.sub, live);
      return;
    }
    const live = frame.sub ? this.bySub.get(frame.sub) : null;
    switch (frame.type) {
      case "snapshot":
        if (live) live._snapshot(frame);
        break;
      case "ready":
        if (live) {
          live.status = "live";
          live._emit();
        }
        break;
      case "diff":
        if (live) {
          live._diff(frame);
          live._emit();
        }
        break;
      case "resnapshot":
        break; // a snapshot follows
      case "notification":
        for (const fn of this.channels.get(frame.channel) ?? []) fn(frame.payload, frame);
        break;
      case "presence_state":
      case "presence_diff": {
        const p = this.presences.get(frame.channel);
        if (!p) break;
        if (frame.type === "presence_state") p.present = { ...frame.presences };
        else {
          for (const k of Object.keys(frame.leaves)) delete p.present[k];
          Object.assign(p.present, frame.joins);
        }
        p.fn?.(p.present);
        break;
      }
      case "error":
        if (live) {
          live.status = `error: ${frame.message}`;
          live._emit();
        }
        break;
    }
  }

  _subscribeLive(live) {
    const request = { type: "subscribe", query: live.sql, params: live.params };
    if (live.lsn !== null) request.since = live.lsn;
    const id = this._send(request);
    if (id !== null) this.pending.set(id, live);
  }

  _startLive(live) {
    this.lives.add(live);
    this._subscribeLive(live);
  }

  _stopLive(live) {
    this.lives.delete(live);
    if (live.sub) {
      this._send({ type: "unsubscribe", sub: live.sub });
      this.bySub.delete(live.sub);
    }
  }

  /** A live query: `.subscribe((rows, byKey, status) => ...)`. */
  live(sql, params = []) {
    return new LiveQuery(this, sql, params);
  }

  /** Calls `fn(payload)` for every notification on `channel`. */
  listen(channel, fn) {
    if (!this.channels.has(channel)) {
      this.channels.set(channel, new Set());
      this._send({ type: "listen", channel });
    }
    this.channels.get(channel).add(fn);
  }

  notify(channel, payload = "") {
    this._send({ type: "notify", channel, payload });
  }

  /** Joins `channel` with `state`; `fn(present)` gets everyone present. */
  presence(channel, state, fn) {
    this.presences.set(channel, { state, fn, present: {} });
    this._send({ type: "presence", channel, state });
  }

  close() {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.ws.close();
  }
}
