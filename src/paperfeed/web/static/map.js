// The topic map: every paper as a dot on a canvas, coloured by topic, with zoom (wheel, +/-),
// pan (drag, arrow keys), a title on hover, the paper on click, topic labels at their centres
// and a search that lights up the matching papers.
//
// Fast at 100,000 points: dots are written straight into an ImageData buffer (no path per dot),
// and hover finds the nearest dot through a uniform grid over the map, so a frame costs one
// pass over the points and a hover a few cells.
(function () {
  "use strict";

  const GRID = 256; // cells per side of the hover grid
  const HOVER_PX = 8; // how near the pointer a dot must be to count as hovered
  const MIN_SCALE = 0.5;
  const MAX_SCALE = 400;

  function palette(n) {
    const colours = [];
    for (let i = 0; i < n; i++) {
      const hue = (i * 137.508) % 360; // golden angle: neighbouring topics get distant hues
      const [r, g, b] = hslToRgb(hue / 360, 0.62, 0.5);
      colours.push([r, g, b]);
    }
    return colours;
  }

  function hslToRgb(h, s, l) {
    const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
    const p = 2 * l - q;
    const channel = (t) => {
      t = (t + 1) % 1;
      if (t < 1 / 6) return p + (q - p) * 6 * t;
      if (t < 1 / 2) return q;
      if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
      return p;
    };
    return [channel(h + 1 / 3), channel(h), channel(h - 1 / 3)].map((v) => Math.round(v * 255));
  }

  class PaperMap {
    constructor(canvas, tip, data) {
      this.canvas = canvas;
      this.tip = tip;
      this.ctx = canvas.getContext("2d");
      this.count = data.ids.length;
      this.ids = data.ids;
      this.urls = data.urls;
      this.titles = data.titles;
      this.topics = data.topics;
      this.xs = Float32Array.from(data.x);
      this.ys = Float32Array.from(data.y);
      this.topicOf = Int32Array.from(data.topic);
      this.colours = palette(Math.max(1, this.topics.length));
      this.indexOfId = new Map();
      for (let i = 0; i < this.count; i++) this.indexOfId.set(this.ids[i], i);
      this.matched = null; // Uint8Array of lit-up papers while a search is active
      this.matchCount = 0;
      this.hovered = -1;
      this.scale = 1;
      this.tx = 0;
      this.ty = 0;
      this.dirty = true;
      this.lastFrameMs = 0;
      this.buildGrid();
      this.resize();
      this.listen();
      const loop = () => {
        if (this.dirty) this.draw();
        requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
    }

    buildGrid() {
      // Counting sort of the points into GRID x GRID cells over [-1, 1]^2.
      const cells = new Int32Array(GRID * GRID + 1);
      const cellOf = new Int32Array(this.count);
      for (let i = 0; i < this.count; i++) {
        const c = this.cell(this.xs[i], this.ys[i]);
        cellOf[i] = c;
        cells[c + 1]++;
      }
      for (let c = 0; c < GRID * GRID; c++) cells[c + 1] += cells[c];
      const order = new Int32Array(this.count);
      const fill = cells.slice(0, GRID * GRID);
      for (let i = 0; i < this.count; i++) order[fill[cellOf[i]]++] = i;
      this.cellStart = cells;
      this.cellOrder = order;
    }

    cell(x, y) {
      const cx = Math.min(GRID - 1, Math.max(0, Math.floor(((x + 1) / 2) * GRID)));
      const cy = Math.min(GRID - 1, Math.max(0, Math.floor(((y + 1) / 2) * GRID)));
      return cy * GRID + cx;
    }

    resize() {
      const ratio = window.devicePixelRatio || 1;
      const rect = this.canvas.getBoundingClientRect();
      this.width = Math.max(1, Math.round(rect.width));
      this.height = Math.max(1, Math.round(rect.height));
      this.ratio = ratio;
      this.canvas.width = Math.round(this.width * ratio);
      this.canvas.height = Math.round(this.height * ratio);
      this.image = this.ctx.createImageData(this.canvas.width, this.canvas.height);
      this.pixels = new Uint32Array(this.image.data.buffer);
      this.dirty = true;
    }

    // Data space ([-1, 1], y up) to CSS pixels on the canvas, and back.
    unit() {
      return (Math.min(this.width, this.height) / 2.15) * this.scale;
    }
    toScreen(x, y) {
      const u = this.unit();
      return [this.width / 2 + this.tx + x * u, this.height / 2 + this.ty - y * u];
    }
    toData(sx, sy) {
      const u = this.unit();
      return [(sx - this.width / 2 - this.tx) / u, -(sy - this.height / 2 - this.ty) / u];
    }

    draw() {
      const started = performance.now();
      this.dirty = false;
      const w = this.canvas.width;
      const h = this.canvas.height;
      const pixels = this.pixels;
      pixels.fill(0);
      const u = this.unit() * this.ratio;
      const cx = (this.width / 2 + this.tx) * this.ratio;
      const cy = (this.height / 2 + this.ty) * this.ratio;
      const base = this.count < 20000 ? 3 : 1.5; // sparse maps get larger dots
      const size = Math.max(2, Math.min(6, Math.round(base * this.ratio * Math.sqrt(this.scale))));
      const matched = this.matched;
      const packed = this.colours.map(([r, g, b]) => (255 << 24) | (b << 16) | (g << 8) | r); // little-endian RGBA
      const dim = this.colours.map(([r, g, b]) => (70 << 24) | (b << 16) | (g << 8) | r);
      const lit = (255 << 24) | (0 << 16) | (200 << 8) | 255; // bright amber
      const xs = this.xs;
      const ys = this.ys;
      const topicOf = this.topicOf;
      const paint = (px, py, colour, s) => {
        const x0 = Math.max(0, px);
        const x1 = Math.min(w, px + s);
        const y1 = Math.min(h, py + s);
        for (let y = Math.max(0, py); y < y1; y++) {
          const row = y * w;
          for (let x = x0; x < x1; x++) pixels[row + x] = colour;
        }
      };
      for (let i = 0; i < this.count; i++) {
        const px = (cx + xs[i] * u) | 0;
        const py = (cy - ys[i] * u) | 0;
        if (px < -size || py < -size || px >= w || py >= h) continue;
        const t = topicOf[i] >= 0 ? topicOf[i] : 0;
        if (matched === null) paint(px, py, packed[t], size);
        else if (!matched[i]) paint(px, py, dim[t], size);
      }
      if (matched !== null) {
        // Lit-up papers last, larger, so dimmed ones never hide them.
        for (let i = 0; i < this.count; i++) {
          if (!matched[i]) continue;
          const px = (cx + xs[i] * u) | 0;
          const py = (cy - ys[i] * u) | 0;
          paint(px - 1, py - 1, lit, size + 2);
        }
      }
      this.ctx.putImageData(this.image, 0, 0);
      this.drawLabels();
      if (this.hovered >= 0) this.drawHover();
      this.lastFrameMs = performance.now() - started;
    }

    drawLabels() {
      const ctx = this.ctx;
      ctx.save();
      ctx.scale(this.ratio, this.ratio);
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      const styles = getComputedStyle(document.body);
      const text = styles.color || "#111";
      const placed = [];
      const bySize = this.topics.map((t, i) => i).sort((a, b) => this.topics[b].size - this.topics[a].size);
      for (const i of bySize) {
        const topic = this.topics[i];
        const [sx, sy] = this.toScreen(topic.x, topic.y);
        if (sx < 0 || sy < 0 || sx > this.width || sy > this.height) continue;
        const label = topic.label;
        const half = ctx.measureText(label).width / 2 + 4;
        const box = [sx - half, sy - 9, sx + half, sy + 9];
        if (placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1])) continue;
        placed.push(box);
        ctx.fillStyle = "rgba(127, 127, 127, 0.18)";
        ctx.fillRect(box[0], box[1], box[2] - box[0], box[3] - box[1]);
        ctx.fillStyle = text;
        ctx.fillText(label, sx, sy);
      }
      ctx.restore();
    }

    drawHover() {
      const ctx = this.ctx;
      const [sx, sy] = this.toScreen(this.xs[this.hovered], this.ys[this.hovered]);
      ctx.save();
      ctx.scale(this.ratio, this.ratio);
      ctx.strokeStyle = getComputedStyle(document.body).color || "#111";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.restore();
    }

    nearest(sx, sy) {
      const [x, y] = this.toData(sx, sy);
      const radius = HOVER_PX / this.unit();
      const span = Math.ceil((radius / 2) * GRID) + 1;
      const cx = Math.floor(((x + 1) / 2) * GRID);
      const cy = Math.floor(((y + 1) / 2) * GRID);
      let best = -1;
      let bestDistance = radius * radius;
      for (let gy = Math.max(0, cy - span); gy <= Math.min(GRID - 1, cy + span); gy++) {
        for (let gx = Math.max(0, cx - span); gx <= Math.min(GRID - 1, cx + span); gx++) {
          const c = gy * GRID + gx;
          for (let k = this.cellStart[c]; k < this.cellStart[c + 1]; k++) {
            const i = this.cellOrder[k];
            const dx = this.xs[i] - x;
            const dy = this.ys[i] - y;
            const d = dx * dx + dy * dy;
            if (d <= bestDistance) {
              bestDistance = d;
              best = i;
            }
          }
        }
      }
      return best;
    }

    hover(sx, sy) {
      const found = this.nearest(sx, sy);
      if (found !== this.hovered) {
        this.hovered = found;
        this.dirty = true;
      }
      if (found < 0) {
        this.tip.hidden = true;
        this.canvas.style.cursor = "";
        return;
      }
      const topic = this.topicOf[found] >= 0 ? this.topics[this.topicOf[found]] : null;
      this.tip.textContent = "";
      const title = document.createElement("strong");
      title.textContent = this.titles[found];
      this.tip.appendChild(title);
      if (topic) {
        const where = document.createElement("span");
        where.textContent = topic.label;
        this.tip.appendChild(where);
      }
      this.tip.hidden = false;
      const left = Math.min(sx + 14, this.width - 260);
      this.tip.style.transform = `translate(${Math.max(0, left)}px, ${sy + 14}px)`;
      this.canvas.style.cursor = "pointer";
    }

    zoom(factor, sx, sy) {
      const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
      const [x, y] = this.toData(sx, sy);
      this.scale = next;
      const [nx, ny] = this.toScreen(x, y);
      this.tx += sx - nx; // the point under the pointer stays there
      this.ty += sy - ny;
      this.dirty = true;
    }

    pan(dx, dy) {
      this.tx += dx;
      this.ty += dy;
      this.dirty = true;
    }

    listen() {
      const canvas = this.canvas;
      const local = (event) => {
        const rect = canvas.getBoundingClientRect();
        return [event.clientX - rect.left, event.clientY - rect.top];
      };
      let drag = null;
      canvas.addEventListener("wheel", (event) => {
        event.preventDefault();
        const [sx, sy] = local(event);
        this.zoom(Math.exp(-event.deltaY * 0.0015), sx, sy);
      }, { passive: false });
      canvas.addEventListener("pointerdown", (event) => {
        drag = { x: event.clientX, y: event.clientY, moved: 0 };
        canvas.setPointerCapture(event.pointerId);
      });
      canvas.addEventListener("pointermove", (event) => {
        if (drag) {
          const dx = event.clientX - drag.x;
          const dy = event.clientY - drag.y;
          drag.moved += Math.abs(dx) + Math.abs(dy);
          drag.x = event.clientX;
          drag.y = event.clientY;
          if (drag.moved > 3) {
            this.pan(dx, dy);
            this.tip.hidden = true;
            return;
          }
        }
        const [sx, sy] = local(event);
        this.hover(sx, sy);
      });
      canvas.addEventListener("pointerup", (event) => {
        const wasClick = drag && drag.moved <= 3;
        drag = null;
        if (!wasClick) return;
        const [sx, sy] = local(event);
        const found = this.nearest(sx, sy);
        if (found >= 0) window.location.assign("/papers/" + encodeURIComponent(this.urls[found]));
      });
      canvas.addEventListener("pointerleave", () => {
        this.tip.hidden = true;
        if (this.hovered >= 0) {
          this.hovered = -1;
          this.dirty = true;
        }
      });
      canvas.addEventListener("keydown", (event) => {
        const step = 40;
        const keys = {
          "+": () => this.zoom(1.25, this.width / 2, this.height / 2),
          "=": () => this.zoom(1.25, this.width / 2, this.height / 2),
          "-": () => this.zoom(0.8, this.width / 2, this.height / 2),
          ArrowLeft: () => this.pan(step, 0),
          ArrowRight: () => this.pan(-step, 0),
          ArrowUp: () => this.pan(0, step),
          ArrowDown: () => this.pan(0, -step),
        };
        if (keys[event.key]) {
          event.preventDefault();
          keys[event.key]();
        }
      });
      window.addEventListener("resize", () => this.resize());
    }

    light(ids) {
      if (ids === null) {
        this.matched = null;
        this.matchCount = 0;
      } else {
        this.matched = new Uint8Array(this.count);
        let n = 0;
        for (const id of ids) {
          const i = this.indexOfId.get(id);
          if (i !== undefined && !this.matched[i]) {
            this.matched[i] = 1;
            n++;
          }
        }
        this.matchCount = n;
      }
      this.dirty = true;
    }

    // What tests and benchmarks ask: where a paper is drawn, and how long a frame takes.
    screenOf(index) {
      return this.toScreen(this.xs[index], this.ys[index]);
    }
    setView(scale, tx, ty) {
      this.scale = scale;
      this.tx = tx;
      this.ty = ty;
      this.draw();
      return this.lastFrameMs;
    }
  }

  async function start() {
    const canvas = document.getElementById("topic-map");
    if (!canvas) return;
    const tip = document.getElementById("map-tip");
    const status = document.getElementById("map-status");
    status.textContent = "Loading the map…";
    const response = await fetch(canvas.dataset.points, { credentials: "same-origin" });
    if (!response.ok) {
      status.textContent = "The map could not be loaded.";
      return;
    }
    const map = new PaperMap(canvas, tip, await response.json());
    window.paperMap = map;
    status.textContent = `${map.count.toLocaleString()} papers in ${map.topics.length} topics`;
    canvas.dataset.ready = "true";
    const form = document.getElementById("map-search");
    const input = document.getElementById("map-query");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const query = input.value.trim();
      if (!query) {
        map.light(null);
        status.textContent = `${map.count.toLocaleString()} papers in ${map.topics.length} topics`;
        return;
      }
      const url = canvas.dataset.search + "?" + new URLSearchParams({ q: query });
      const answer = await fetch(url, { credentials: "same-origin" });
      if (!answer.ok) {
        status.textContent = "The search failed; try again.";
        return;
      }
      map.light((await answer.json()).ids);
      const n = map.matchCount;
      status.textContent = n ? `${n.toLocaleString()} paper${n === 1 ? "" : "s"} match` : "No paper matches";
      canvas.dataset.matched = String(n);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
